"""Human review of a run's records: decisions stored in the work directory, a local web app to make them
(:mod:`datamill.review.server`), and the ``review_apply`` step that applies them on the next run."""

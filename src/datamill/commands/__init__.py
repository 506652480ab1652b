"""Extra CLI commands, one module each; every module defines ``register(app: typer.Typer) -> None``.

``datamill.cli`` imports each module here and calls ``register``. Command bodies import the library
lazily so that ``datamill --help`` stays fast.
"""

# Ray executor test deps: ray[data] (tests/exec/test_ray*.py start a local Ray instance and a two-node
# loopback cluster). torch is held at 2.13.0 (the CPU wheel 50-dedup.sh installs) so pip never swaps it.
if ! "$VPY" -c "import ray" 2>/dev/null; then
  _ray_pins="$(mktemp)"
  echo "torch==2.13.0" > "$_ray_pins"
  "$VPY" -m pip install -q "ray[data]>=2.30" -c "$_ray_pins"
  rm -f "$_ray_pins"
  unset _ray_pins
fi

"""What the tests and the benchmarks (bench/) share: a real ``ballot serve`` in a subprocess."""

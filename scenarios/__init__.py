"""Load scenarios and benchmarks. Every figure is printed beside a baseline measured in
the same run, so results are ratios on this machine, not absolute claims."""

"""Studies built on `ae_jax`'s public API, kept out of the core package (as big_vision keeps
`proj/`). Run them from the repository root, e.g. `python -m projects.fonts.study`."""

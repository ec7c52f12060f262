"""The course's font study (seed 003, TP5) on the 5x7 bitmaps of `ae_jax.data.fonts`.

Built on `ae_jax`'s public API; every name it takes from the training engine comes through
`engine_api`. Modules: `errors` (the course's error measures), `course` (the architecture
sweep), `optimizer_study` (second-order and derivative-free methods of `second_order`),
`generate` (new characters), `denoise` (bit-flip denoising), `plots`. The command, from the
repository root, is `python -m projects.fonts.study`.
"""

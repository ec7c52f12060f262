"""The course's font study (seed 003, TP5) on the 5x7 bitmaps of `ae_jax.data.fonts`.

Modules: `errors` (the course's error measures), `course` (the architecture sweep),
`optimizer_study` (second-order and derivative-free methods), `generate` (new characters),
`denoise` (bit-flip denoising), `plots`. The command is `python -m ae_jax.fonts_study`.
"""

"""The base config every experiment starts from. Field names carry their units.

Every field is listed here, so `--config.<field>=<value>` can set any of them and a
misspelled field is an error (the config is locked).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.family = "autoencoder"  # autoencoder | gan (GANs and the AAE: ae_jax/gan)
    config.seed = 0
    config.num_runs = 1  # > 1: runs seeded seed, seed+1, ... train together under jax.vmap

    config.data = ml_collections.ConfigDict(dict(
        name="digits",  # digits | fonts | fashion_mnist | mnist | image_folder | npz | <tfds>
        data_dir="",            # IDX files or an image folder; "" searches known system folders
        tfds_data_dir="",       # TFDS data_dir; "" uses TFDS's default (~/tensorflow_datasets)
        path="",                # the .npz file for name=npz
        image_size=80,          # image_folder: resize to image_size x image_size
        grayscale=True,         # image_folder: one channel
        fonts=(0, 1, 2),        # fonts: which of the three 32-glyph sets
        test_fraction=0.2,      # sources without a test split: held-out fraction
        split_seed=0,           # ... chosen with this seed
        train_limit=0,          # use only the first N train examples (0: all)
        test_limit=0,           # use only the first N test examples (0: all)
        placement="auto",       # device | host (streamed batches) | auto: host when the data
                                # would fill over half the accelerator's memory
    ))

    config.model = ml_collections.ConfigDict(dict(
        name="mlp",             # mlp | conv
        latent_dim=32,          # conv: 0 keeps the feature map as the code
        hidden_sizes=(),        # mlp: encoder hidden layers, input side first
        decoder_hidden_sizes=ml_collections.config_dict.placeholder(tuple),  # None: mirror
        activation="relu",
        latent_activation="relu",
        output_activation="sigmoid",
        encoder_layers=(),      # conv: layer language, see ae_jax/models/conv.py
        decoder_layers=(),
        kernel_size=3,
        conv_impl="auto",       # conv: lax | cpu (formulations fast on XLA:CPU) | auto (cpu on CPU)
        kernel_init="lecun_normal",  # mlp: lecun_normal (Flax) | glorot_uniform (Keras) | he_normal
        compute_dtype="float32",  # float32 | bfloat16 (mixed precision: parameters stay f32)
        # VAEs (ae_jax/models/vae.py: vae_mlp | vae_conv)
        learn_output_variance=False,  # a learned log sigma^2 for a Gaussian decoder
    ))

    config.loss = ml_collections.ConfigDict(dict(
        reconstruction="bce",   # bce (on logits) | mse
        reduction="mean",       # over the pixels of one example: mean | sum
        terms=ml_collections.ConfigDict(),  # name -> weight, e.g. l2_weights=1e-4
        warmup_epochs=ml_collections.ConfigDict(),  # name -> epochs of linear warm-up
        # sparsity terms (ae_jax/objectives/sparsity.py): l1_activity, kl_sparsity
        activity_layer=ml_collections.config_dict.placeholder(int),  # None: code; i: hidden[i]
        sparsity_target=0.05,   # kl_sparsity: rho, the target mean activation of each unit
        # VAE terms (ae_jax/objectives/vae.py): kl, iwae, gaussian_nll; evaluation task nll
        likelihood="bernoulli",  # p(x|z) for iwae and nll: bernoulli (logits) | gaussian
        output_stddev=0.1,      # gaussian p(x|z): the fixed sigma, unless learned
        iwae_samples=5,         # iwae: importance samples k per example and step
    ))

    config.corruption = ml_collections.ConfigDict(dict(
        name="none",            # none | gaussian | masking | salt_and_pepper | bit_flip | block
        stddev=0.5,             # gaussian: x + stddev * N(0, 1), clipped to [0, 1]
        probability=0.3,        # masking / salt_and_pepper / bit_flip: fraction of inputs
        block_fraction=0.5,     # block: side of the square hole as a fraction of the image
    ))

    config.optimizer = ml_collections.ConfigDict(dict(
        name="adam",            # adam | adamw | sgd | rmsprop | adadelta
        learning_rate=1e-3,
        momentum=0.0,           # sgd / rmsprop
        nesterov=False,         # sgd
        schedule="constant",    # constant | inverse_time | cosine | warmup_cosine
        decay=0.0,              # inverse_time: lr / (1 + decay * step)
        warmup_epochs=1.0,      # warmup_cosine
        grad_clip_norm=0.0,     # 0: no clipping
    ))

    config.batch_size = 128
    config.eval_batch_size = 1000
    config.num_epochs = 10
    config.loop = "auto"          # auto | scan | steps (see ae_jax/training.py)
    config.steps_per_call = 1     # loop=steps: steps unrolled into one compiled call
    config.checkpoint_every_epochs = 1
    config.keep_checkpoints = 3
    config.plot_every_epochs = 0  # 0: plots at the end only
    config.num_plot_images = 10
    config.stream_batches = 64    # data.placement=host: batches per host -> device transfer
    config.progress_bar = True
    config.tensorboard = True
    config.profile = False        # jax.profiler trace of the 2nd epoch trained -> workdir/profile

    # Data parallelism (ae_jax/parallel.py): the batch is split over a 1-D device mesh,
    # parameters replicated. 1: one device; 0: every device of every process.
    config.num_devices = 1
    config.distributed = ml_collections.ConfigDict(dict(
        num_processes=1,        # > 1: join a multi-process run via jax.distributed
        process_id=0,           # this process's rank, 0 .. num_processes - 1
        coordinator_address="",  # host:port of process 0
        auto=False,             # True: let JAX read a cluster's environment (SLURM, MPI, TPU)
        cpu_collectives="gloo",  # CPU all-reduce across processes
    ))
    return config

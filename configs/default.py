"""The base config every experiment starts from, and the one place a field's default lives.

Every field any library code reads is listed here, with its unit and what it is for, so
`--config.<field>=<value>` can set any of them, a misspelled field is an error (the config
is locked), and library code reads `config.<field>` without a default of its own.
"""

import ml_collections

placeholder = ml_collections.config_dict.placeholder


def _optimizer() -> ml_collections.ConfigDict:
    """`optimizer` (and, for GANs, `discriminator_optimizer`): ae_jax/optimizers.py."""
    return ml_collections.ConfigDict(dict(
        name="adam",            # adam | adamw | sgd | rmsprop | adadelta
        learning_rate=1e-3,     # base rate per step (a schedule multiplies it)
        beta1=0.9,              # adam: decay rate of the first-moment average (1)
        beta2=0.999,            # adam: decay rate of the second-moment average (1)
        eps=1e-7,               # adam / adamw / rmsprop / adadelta: denominator floor (Keras')
        rho=0.95,               # adadelta / rmsprop: decay of the squared-gradient average
                                # (Keras: adadelta 0.95, the seeds' choice; rmsprop 0.9)
        weight_decay=1e-4,      # adamw: decoupled decay per step, times the learning rate
        momentum=0.0,           # sgd / rmsprop: momentum coefficient (1)
        nesterov=False,         # sgd: Nesterov momentum
        schedule="constant",    # constant | inverse_time | cosine | warmup_cosine
        decay=0.0,              # inverse_time: lr / (1 + decay * step), per step
        warmup_epochs=1.0,      # warmup_cosine: epochs of linear warm-up from 0
        grad_clip_norm=0.0,     # global L2 norm the gradient is clipped to; 0: no clipping
    ))


def _data() -> ml_collections.ConfigDict:
    """`data`: ae_jax/data (one source per name)."""
    return ml_collections.ConfigDict(dict(
        name="digits",          # digits | fonts | fashion_mnist | mnist | image_folder | npz |
                                # csv | tfds:<catalog name> (e.g. tfds:cifar10)
        data_dir="",            # IDX files or an image folder; "" searches known system folders
        tfds_data_dir="",       # TFDS data_dir; "" uses TFDS's default (~/tensorflow_datasets)
        path="",                # the file for name=npz (.npz) and name=csv (.csv)
        image_size=80,          # image_folder: resize to image_size x image_size pixels
        grayscale=True,         # image_folder: one channel (False: RGB)
        fonts=(0, 1, 2),        # fonts: which of the three 32-glyph sets
        test_fraction=0.2,      # digits / fonts / image_folder / csv: held-out fraction of
                                # the examples (fonts 0: test on the training set; the
                                # shipped fonts configs set 0, the image configs 0.1)
        split_seed=0,           # ... chosen with this seed
        train_limit=0,          # use only the first N train examples (0: all)
        binarize="none",        # none | threshold | dynamic: pixels in {0, 1} for likelihoods
                                # on binarised data (ae_jax/data/binarize.py)
        test_limit=0,           # use only the first N test examples (0: all)
        placement="auto",       # device | host (streamed batches) | auto: host when the data
                                # would fill over half the accelerator's memory
        one_class=(),           # label indices: run r trains only on class one_class[r]
                                # (one per vmapped run; () trains every run on all classes)
        # csv (ae_jax/data/csv_source.py)
        label_column="",        # the column holding class labels; "" for none
        normal_classes=(),      # class names (or label indices) the train split keeps; the
                                # rest move to test (anomaly detection); () keeps all
        standardize=True,       # z-score every column with the training rows' mean and std
    ))


def _model() -> ml_collections.ConfigDict:
    """`model`: ae_jax/models (autoencoders; GAN networks in ae_jax/models/gan.py)."""
    return ml_collections.ConfigDict(dict(
        name="mlp",             # mlp | conv | tied | pca | vae_mlp | vae_conv;
                                # family gan: mlp_gan | dcgan | aae
        latent_dim=32,          # code size, units; conv: 0 keeps the feature map as the code
        hidden_sizes=(),        # mlp / tied / vae / aae: encoder hidden layers (units), input
                                # side first
        decoder_hidden_sizes=placeholder(tuple),  # mlp / vae_mlp, code side first; None: mirror
        activation="relu",      # hidden-layer activation
        latent_activation="relu",  # mlp / tied: the code's activation (tied's seed: sigmoid)
        output_activation="sigmoid",  # logits -> x_hat (sigmoid pairs with BCE); pca: linear
        encoder_layers=(),      # conv / vae_conv: layer language, see ae_jax/models/conv.py
        decoder_layers=(),      # conv / vae_conv: decoder layers, code side first
        kernel_size=3,          # conv / vae_conv / dcgan: square kernel side, pixels (DCGAN: 4)
        conv_impl="auto",       # conv: lax | cpu (formulations fast on XLA:CPU) | auto (cpu on CPU)
        kernel_init="lecun_normal",  # mlp: lecun_normal (Flax) | glorot_uniform (Keras) | he_normal
        compute_dtype="float32",  # float32 | bfloat16 (mixed precision: parameters stay f32)
        # VAEs (ae_jax/models/vae.py: vae_mlp | vae_conv)
        learn_output_variance=False,  # a learned log sigma^2 for a Gaussian decoder
        num_classes=10,         # cvae_mlp: classes of the label the model is conditioned on
        # adversarial families (ae_jax/models/gan.py)
        generator_hidden_sizes=(256, 512),  # mlp_gan: generator dense layers (units), z first
        generator_batch_norm=True,  # mlp_gan: batch norm after each generator hidden layer
        discriminator_hidden_sizes=(512, 256),  # mlp_gan / aae: discriminator dense layers
        generator_features=(128, 64),  # dcgan: channels of the generator's feature maps
        discriminator_features=(64, 128),  # dcgan: channels of the discriminator's convs
        discriminator_batch_norm=True,  # dcgan: batch norm on every conv but the first
        leaky_slope=0.2,        # leaky ReLU slope for x < 0 (Radford et al.: 0.2)
        bn_momentum=0.9,        # batch norm: running = m * running + (1 - m) * batch
    ))


def _loss() -> ml_collections.ConfigDict:
    """`loss`: ae_jax/objectives."""
    return ml_collections.ConfigDict(dict(
        reconstruction="bce",   # bce (on logits) | mse
        reduction="mean",       # over the pixels of one example: mean | sum
        terms=ml_collections.ConfigDict(),  # name -> weight, e.g. l2_weights=1e-4
        warmup_epochs=ml_collections.ConfigDict(),  # name -> epochs of linear warm-up
        # sparsity terms (ae_jax/objectives/sparsity.py): l1_activity, kl_sparsity
        activity_layer=placeholder(int),  # None: code; i: hidden[i]
        sparsity_target=0.05,   # kl_sparsity: rho, the target mean activation of each unit
        # VAE terms (ae_jax/objectives/vae.py): kl, iwae, gaussian_nll; evaluation task nll
        likelihood="bernoulli",  # p(x|z) for iwae and nll: bernoulli (logits) | gaussian
        output_stddev=0.1,      # gaussian p(x|z): the fixed sigma (pixel units), unless learned
        iwae_samples=5,         # iwae: importance samples k per example and step
    ))


def _corruption() -> ml_collections.ConfigDict:
    """`corruption`: ae_jax/corruption.py (the input noise of denoising / inpainting)."""
    return ml_collections.ConfigDict(dict(
        name="none",            # none | gaussian | masking | salt_and_pepper | bit_flip | block
        stddev=0.5,             # gaussian: x + stddev * N(0, 1), pixel units, clipped to [0, 1]
        probability=0.3,        # masking / salt_and_pepper / bit_flip: fraction of inputs hit
                                # (the font study's bit_flip sets 0.1)
        block_fraction=0.5,     # block: side of the square hole as a fraction of the image
    ))


def _gan() -> ml_collections.ConfigDict:
    """`gan`: the adversarial families (ae_jax/families/adversarial.py)."""
    return ml_collections.ConfigDict(dict(
        adversarial_weight=1.0,  # aae: weight of the generator's adversarial cost vs the BCE
                                 # (a loss weight in the state: sweepable per run)
    ))


def _distributed() -> ml_collections.ConfigDict:
    """`distributed`: multi-process runs (ae_jax/parallel.py)."""
    return ml_collections.ConfigDict(dict(
        num_processes=1,        # > 1: join a multi-process run via jax.distributed
        process_id=0,           # this process's rank, 0 .. num_processes - 1
        coordinator_address="",  # host:port of process 0
        auto=False,             # True: let JAX read a cluster's environment (SLURM, MPI, TPU)
        cpu_collectives="gloo",  # CPU all-reduce across processes
    ))


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.family = "autoencoder"  # autoencoder | gan | aae (ae_jax/families): how it trains
    config.seed = 0                # seeds parameters, data order and noise
    config.num_runs = 1  # > 1: runs seeded seed, seed+1, ... train together under jax.vmap

    config.data = _data()
    config.model = _model()
    config.loss = _loss()
    config.corruption = _corruption()
    config.optimizer = _optimizer()
    config.discriminator_optimizer = _optimizer()  # GAN family: trains the discriminator
    config.gan = _gan()

    config.batch_size = 128       # examples per training step
    config.eval_batch_size = 1000  # examples per evaluation call
    config.num_epochs = 10        # passes over the training split
    config.loop = "auto"          # auto | scan | steps (see ae_jax/loops.py)
    config.steps_per_call = 1     # loop=steps: steps unrolled into one compiled call
    config.checkpoint_every_epochs = 1  # epochs between checkpoints (and at the end)
    config.keep_checkpoints = 3   # newest checkpoints kept in the workdir
    config.plot_every_epochs = 0  # epochs between plots; 0: plots at the end only
    config.num_plot_images = 10   # test images in the reconstruction plots
    config.num_sample_images = 64  # families that sample (GANs, VAEs): images in the grid
                                   # decoded from fixed codes z; 0: no sample grid
    config.stream_batches = 64    # data.placement=host: batches per host -> device transfer
    config.progress_bar = True    # a tqdm bar per epoch
    config.tensorboard = True     # also write TensorBoard event files
    config.profile = False        # jax.profiler trace of the 2nd epoch trained -> workdir/profile

    # Data parallelism (ae_jax/parallel.py): the batch is split over a 1-D device mesh,
    # parameters replicated. 1: one device; 0: every device of every process.
    config.num_devices = 1        # devices of the data-parallel mesh (0: all)
    config.distributed = _distributed()
    return config

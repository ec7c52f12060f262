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
        name="digits",          # digits | fonts | shapes | fashion_mnist | mnist | kmnist |
                                # image_folder | npz | csv | tfds:<catalog name> (e.g.
                                # tfds:cifar10)
        data_dir="",            # IDX files (downloads go here too) or an image folder; ""
                                # searches known system folders, then the download cache
                                # $XDG_CACHE_HOME/ae_jax/datasets/<name> (~/.cache/...)
        download=True,          # mnist / fashion_mnist / kmnist: download the IDX files not
                                # found locally, checked against their published MD5s
                                # (ae_jax/data/download.py; AE_JAX_DATA_MIRROR: mirror URLs)
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
        # shapes (ae_jax/data/shapes.py): dSprites-like sprites rendered at load time
        shapes_num_examples=100_000,  # distinct factor combinations drawn from the 737,280
                                # of the grid, split by test_fraction (split_seed)
        shapes_image_size=64,   # image side, pixels
        shapes_supersample=1,   # k x k samples per pixel; 1: binary pixels as dSprites,
                                # > 1: anti-aliased
    ))


def _model() -> ml_collections.ConfigDict:
    """`model`: ae_jax/models (autoencoders; GAN networks in ae_jax/models/gan.py)."""
    return ml_collections.ConfigDict(dict(
        name="mlp",             # mlp | conv | tied | pca | vae_mlp | vae_conv | cvae_mlp |
                                # vampprior_mlp | vae_two_layer | vae_flow | vq_vae;
                                # family gan: mlp_gan | dcgan | aae;
                                # family vae_gan: vae_gan_mlp
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
        kernel_init="lecun_normal",  # mlp / conv / vae: lecun_normal (Flax) | glorot_uniform
                                # (Keras: see keras_initialisation below) | he_normal
        compute_dtype="float32",  # float32 | bfloat16 (mixed precision: parameters stay f32)
        # VAEs (ae_jax/models/vae.py: vae_mlp | vae_conv)
        learn_output_variance=False,  # a learned log sigma^2 for a Gaussian decoder
        num_classes=10,         # cvae_mlp: classes of the label the model is conditioned on
        num_pseudo_inputs=500,  # vampprior_mlp: K, learned pseudo-inputs whose posteriors
                                # make the prior (ae_jax/models/vampprior.py; the paper: 500)
        second_latent_dim=50,   # vae_two_layer: units of the top stochastic layer z2 (z1 has
                                # latent_dim; ae_jax/models/hierarchical.py)
        second_hidden_sizes=(100, 100),  # vae_two_layer: dense layers (units) of q(z2 | z1),
                                # z1 side first; p(z1 | z2) has them reversed
        flow="planar",          # vae_flow: the posterior's flow on z0 ~ N(mu, sigma^2),
                                # planar | iaf (ae_jax/models/flows.py)
        flow_steps=10,          # vae_flow: K, the number of flow steps f_1 .. f_K
        iaf_hidden_sizes=(256, 256),  # vae_flow, flow=iaf: hidden layers (units) of each
                                # step's MADE
        # VQ-VAE (ae_jax/models/vq.py: vq_vae; encoder_layers / decoder_layers as conv)
        num_codes=128,          # vq_vae: K, codebook vectors (the discrete code's alphabet)
        embedding_dim=16,       # vq_vae: D, units of each codebook vector and grid position
        codebook_update="gradient",  # vq_vae: gradient (a parameter, loss term vq_codebook) |
                                # ema (moving averages of the assigned encoder outputs)
        codebook_decay=0.99,    # vq_vae ema: g in N_k <- g N_k + (1 - g) n_k, per step (1)
        dead_code_threshold=0.0,  # vq_vae ema: codes whose EMA usage N_k (positions per
                                # batch) falls below it are re-set to encoder outputs; 0: off
        # adversarial families (ae_jax/models/gan.py)
        generator_hidden_sizes=(256, 512),  # mlp_gan: generator dense layers (units), z first
        generator_batch_norm=True,  # mlp_gan: batch norm after each generator hidden layer
        discriminator_hidden_sizes=(512, 256),  # mlp_gan / aae / factor_vae: discriminator
                                # dense layers (units), input side first (factor_vae: on codes)
        generator_features=(128, 64),  # dcgan: channels of the generator's feature maps
        discriminator_features=(64, 128),  # dcgan: channels of the discriminator's convs
        discriminator_batch_norm=True,  # dcgan: batch norm on every conv but the first
        leaky_slope=0.2,        # leaky ReLU slope for x < 0 (Radford et al.: 0.2); also the
                                # MLP discriminators of mlp_gan, aae, factor_vae
        bn_momentum=0.9,        # batch norm: running = m * running + (1 - m) * batch
    ))


def _loss() -> ml_collections.ConfigDict:
    """`loss`: ae_jax/objectives."""
    return ml_collections.ConfigDict(dict(
        reconstruction="bce",   # bce (on logits) | mse | none (a term is the likelihood)
        reduction="mean",       # over the pixels of one example: mean | sum
        terms=ml_collections.ConfigDict(),  # name -> weight, e.g. l2_weights=1e-4
                                # (family factor_vae: tc = gamma, the weight of its
                                # discriminator's TC estimate, not a registered term)
        warmup_epochs=ml_collections.ConfigDict(),  # name -> epochs of linear warm-up
        # sparsity terms (ae_jax/objectives/sparsity.py): l1_activity, kl_sparsity
        activity_layer=placeholder(int),  # None: code; i: hidden[i]
        sparsity_target=0.05,   # kl_sparsity: rho, the target mean activation of each unit
        # VAE terms (ae_jax/objectives/vae.py): kl, iwae, gaussian_nll; evaluation task nll
        likelihood="bernoulli",  # p(x|z) for iwae and nll: bernoulli (logits) | gaussian
        output_stddev=0.1,      # gaussian p(x|z): the fixed sigma (pixel units), unless learned
        iwae_samples=5,         # iwae: importance samples k per example and step
        # importance-weighted bounds (ae_jax/objectives/importance.py): miwae, ciwae, piwae
        iwae_groups=1,          # miwae / piwae: M groups of iwae_samples (K) draws per
                                # example and step (M*K draws in all); 1: IWAE_K
        ciwae_beta=0.5,         # ciwae: beta in [0, 1], the ELBO's share (1: ELBO, 0: IWAE_K)
        # DIP-VAE terms (ae_jax/objectives/dip.py): dip_i, dip_ii; their weight is lambda_od
        dip_diagonal_ratio=10.0,  # lambda_d / lambda_od (1): the diagonal part's weight
                                  # relative to the off-diagonal one (DIP-I 10, DIP-II 1)
        # MMD term (ae_jax/objectives/mmd.py): mmd, MMD^2_u between the codes and N(0, I)
        mmd_kernel="imq",       # imq: C / (C + ||a - b||^2) | rbf: exp(-||a - b||^2 / C)
        mmd_scale=1.0,          # multiplies the base scale C_0 = 2 d_z (squared code units;
                                # d_z the code size: the WAE paper's C for a N(0, I) prior)
        mmd_scales=(),          # multipliers c: the kernel is summed over C = c * C_0;
                                # (): imq (.1, .2, .5, 1, 2, 5, 10) as the WAE code, rbf (1,)
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
        # vae_gan (ae_jax/families/vae_gan.py; loss weights in the state: sweepable per run
        # as loss.terms.llike / loss.terms.pixel)
        feature_layer=-1,        # vae_gan: hidden layer l of the discriminator whose
                                 # activations Dis_l measure reconstructions (index into
                                 # model.discriminator_hidden_sizes; -1: the last)
        llike_weight=1.0,        # vae_gan: gamma, the weight of the feature error L_llike
                                 # in the decoder's loss vs its GAN cost (encoder's: 1)
        pixel_weight=0.0,        # vae_gan: weight of the pixel BCE (nats per image, summed
                                 # over pixels) added to the encoder's and decoder's losses;
                                 # 0: reported only
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
    config.family = "autoencoder"  # autoencoder | gan | aae | factor_vae | vae_gan
                                   # (ae_jax/families): how it trains
    config.seed = 0                # seeds parameters, data order and noise
    config.num_runs = 1  # > 1: runs seeded seed, seed+1, ... train together under jax.vmap

    config.data = _data()
    config.model = _model()
    config.loss = _loss()
    config.corruption = _corruption()
    config.optimizer = _optimizer()
    config.discriminator_optimizer = _optimizer()  # gan / aae / factor_vae: trains the
                                                   # discriminator
    config.gan = _gan()

    config.batch_size = 128       # examples per training step
    config.eval_batch_size = 1000  # examples per evaluation call
    config.num_epochs = 10        # passes over the training split
    config.loop = "auto"          # auto | scan | steps (see ae_jax/loops.py)
    config.steps_per_call = 1     # loop=steps: steps unrolled into one compiled call
    config.scan_unroll = 1        # loop=scan: steps per loop iteration (4: faster long MLP runs)
    config.checkpoint_every_epochs = 1  # Orbax save interval, epochs (also the first and last)
    config.keep_checkpoints = 3   # newest checkpoints kept in the workdir
    config.keep_best = ""         # test metric, e.g. "loss": keep its lowest epoch too ("": off)
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


def keras_initialisation(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Keras's defaults on top of `config`, for the configs that reproduce a seed's Keras model.

    Keras initialises every Dense and Conv2D kernel Glorot-uniform, U(-a, a) with
    a = sqrt(6 / (fan_in + fan_out)), and every bias at zero; Flax's layers use LeCun-normal
    kernels, N(0, 1 / fan_in) truncated, and zero biases. Keras's Adam and Adadelta use
    epsilon 1e-7, which is already this file's `optimizer.eps`. The difference is not
    cosmetic: after 3 epochs of configs/dense_ae.py the Flax initialisation ends at test BCE
    0.3075 and Keras's at 0.2947-0.2958, Keras 3's own figure.

    Keras reproductions (they call this): dense_ae, deep_ae, conv_ae, denoising_conv_ae,
    inpainting_conv_ae, dense_ae_mse, denoising_dense_mse, sparse_l1, vae_dense_2d,
    vae_images_80 and vae_images_80_640. Every other config (the zoo, the font study, the
    GANs, the quick start, tied, linear, contractive and KL-sparse AEs) keeps Flax's defaults.
    """
    config.model.kernel_init = "glorot_uniform"  # Keras's Dense and Conv2D kernels
    return config

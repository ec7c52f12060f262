"""Tabular anomaly detection: a small dense autoencoder on standardised feature rows of a CSV
file, trained on normal rows only; rows it reconstructs badly are flagged (card fraud, ECG
features, ...). The demo table is scikit-learn's bundled breast-cancer data (30 features):
benign rows are normal, malignant rows are the anomalies.

    python scripts/make_tabular_demo.py        # writes runs/data/breast_cancer.csv
    python train.py --config=configs/anomaly_tabular.py --workdir=runs/anomaly_tabular
    python evaluate.py --workdir=runs/anomaly_tabular --task=anomaly

Another table: --config.data.path=<file.csv> --config.data.label_column=<name>
--config.data.normal_classes='("<normal label>",)' (and a latent_dim below the feature count).
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "csv"
    config.data.path = "runs/data/breast_cancer.csv"
    config.data.label_column = "diagnosis"
    config.data.normal_classes = ("benign",)  # train on these rows; the rest are anomalies
    config.data.standardize = True  # z-scores with the training rows' mean and std
    config.data.test_fraction = 0.3
    config.model.name = "mlp"
    config.model.hidden_sizes = (16,)
    config.model.latent_dim = 4
    config.model.latent_activation = "linear"
    config.model.output_activation = "linear"  # standardised features are unbounded
    config.loss.reconstruction = "mse"
    config.batch_size = 32
    config.num_epochs = 200
    config.checkpoint_every_epochs = 50
    return config

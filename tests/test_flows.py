"""Flow posteriors (ae_jax/models/flows.py): every log-determinant against a brute-force
slogdet of the autodiff Jacobian, the planar constraint, the MADE masks' zero pattern and the
IAF's alternating orders, log q(z_K | x) by an independent change of variables, and short
digits runs through the engine, the iwae term and the nll task."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ae_jax
from ae_jax.data import load_dataset, to_float
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.models import build_model
from ae_jax.models.flows import MADE, IAFStep, planar_constrained_u, planar_step
from ae_jax.objectives import TERMS
from tests.conftest import digits_config, loss_config, term_inputs

L = 5  # latent dimension of the unit tests
SHAPE = (8, 8, 1)  # digits


def brute_log_dets(f, *args):
    """log |det df/dz| per example from the full autodiff Jacobian, (B,): f(*row, z) -> (L,)
    for one example, z its last argument; args (B, ...) each. z is float64 (jax x64 mode),
    so the map runs in float64 from the model's float32 parameters and the reference is not
    limited by a float32 slogdet."""
    with jax.enable_x64(True):
        z64 = jnp.asarray(np.asarray(args[-1], np.float64))
        jac = jax.jit(jax.vmap(jax.jacfwd(f, argnums=len(args) - 1)))(*args[:-1], z64)
        jac = np.asarray(jac)  # (B, L, L)
    assert jac.dtype == np.float64
    sign, log_det = np.linalg.slogdet(jac)
    assert np.all(sign != 0)
    return log_det


def model_flow(model, params):
    """flow_from for one example: (x (H, W, C), z0 (L,)) -> z_K (L,)."""
    def f(xb, zb):
        return model.apply({"params": params}, xb[None], zb[None], method="flow_from")[0][0]
    return f


def flow_model(flow, steps=3, seed=0, noise=0.3):
    """(model, params, x): a FlowVAE on digits' shape with latent L, its parameters from init
    plus N(0, noise^2) so the flow is far from its initial near-identity."""
    config = digits_config(**{"model.name": "vae_flow", "model.flow": flow,
                              "model.latent_dim": L, "model.flow_steps": steps,
                              "model.iaf_hidden_sizes": (16, 16)}).model
    model = build_model(config, SHAPE)
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.uniform(size=(4, *SHAPE)), jnp.float32)
    params = model.init(jax.random.PRNGKey(seed), x)["params"]
    params = jax.tree_util.tree_map(
        lambda p: p + jnp.asarray(noise * rng.standard_normal(p.shape), jnp.float32), params)
    return model, params, x


# -- planar ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_planar_step_log_det_is_the_jacobians(seed):
    """One step, random z, u, w, b (w^T u from very negative to positive): the model's
    log(1 + h' w^T u^) equals log|det| of jacfwd."""
    ku, kw, kb, kz = jax.random.split(jax.random.PRNGKey(seed), 4)
    w = jax.random.normal(kw, (L,))
    u = jax.random.normal(ku, (L,)) * 2.0 - (seed - 2) * 2.0 * w  # w^T u ~ -(seed - 2) 2 |w|^2
    b = jax.random.normal(kb, ())
    z = jax.random.normal(kz, (6, L)) * 2.0
    z_new, log_det = planar_step(z, u, w, b)
    np.testing.assert_allclose(log_det, brute_log_dets(lambda z_: planar_step(z_, u, w, b)[0], z),
                               atol=2e-5)
    u_hat = planar_constrained_u(u, w)  # and f is the formula z + u^ tanh(w^T z + b)
    np.testing.assert_allclose(z_new, z + u_hat * jnp.tanh(z @ w + b)[:, None], atol=1e-5)


def test_planar_constraint_gives_w_dot_u_hat_at_least_minus_one():
    """w^T u^ = m(w^T u) = -1 + softplus(w^T u) >= -1 (hand formula in float64), for
    w^T u from -30 (where an unconstrained u breaks invertibility) to 30."""
    w = jax.random.normal(jax.random.PRNGKey(0), (L,))
    direction = jax.random.normal(jax.random.PRNGKey(1), (L,))
    direction = direction - (direction @ w) * w / (w @ w)  # orthogonal to w
    for a in np.linspace(-30.0, 30.0, 13):
        u = direction + a * w / (w @ w)  # w^T u = a
        got = float(w @ planar_constrained_u(u, w))
        assert got >= -1.0
        np.testing.assert_allclose(got, -1.0 + np.logaddexp(0.0, a), rtol=1e-4, atol=1e-5)
    # w^T u already > -1 at a = 0.5: u^ still moves it to m(0.5), along w only
    u = direction + 0.5 * w / (w @ w)
    np.testing.assert_allclose(planar_constrained_u(u, w) - u,
                               (np.logaddexp(0, 0.5) - 1.5) * w / (w @ w), atol=1e-6)


# -- IAF ------------------------------------------------------------------------------------
def _made(reverse, seed=0):
    made = MADE(L, (32, 32), reverse=reverse)
    z, context = jnp.zeros((L,)), jnp.ones((1, 7))
    params = made.init(jax.random.PRNGKey(seed), z[None], context)
    return made, params, jax.random.normal(jax.random.PRNGKey(seed + 1), (1, 7))


@pytest.mark.parametrize("reverse", [False, True])
def test_made_outputs_depend_only_on_earlier_dimensions(reverse):
    """d(m_i, s_i)/dz_j is zero unless j comes before i in the order (1..L, or L..1), and
    nonzero for every such pair at some z (the masks cut no allowed path)."""
    made, params, context = _made(reverse)
    order = np.arange(L)[::-1] if reverse else np.arange(L)  # order[i]: position of dim i
    allowed = order[None, :] < order[:, None]  # (i, j): j before i
    z = jax.random.normal(jax.random.PRNGKey(3), (5, L))
    for out in range(2):  # m, s
        def f(zb, out=out):
            return made.apply(params, zb[None], context)[out][0]

        jac = np.asarray(jax.jit(jax.vmap(jax.jacfwd(f)))(z))  # (5, L, L)
        assert np.all(jac[:, ~allowed] == 0.0)
        assert np.array_equal(np.any(jac != 0, axis=0), allowed)


def test_iaf_steps_are_triangular_in_alternating_orders_with_log_sigma_on_the_diagonal():
    """The model's own steps: step 0 lower-triangular, step 1 upper-triangular, diagonal
    sigma = sigmoid(s), and sum log sigma = log|det| of jacfwd; together they are dense."""
    model, params, x = flow_model("iaf", steps=2)
    context = model.apply({"params": params}, x, method="base")[2]  # (B, C)
    z = jax.random.normal(jax.random.PRNGKey(4), (len(x), L))
    total = np.broadcast_to(np.eye(L), (len(x), L, L))
    for k in range(2):
        step = IAFStep(L, (16, 16), reverse=bool(k), activation=model.activation)
        variables = {"params": params["transform"][f"step_{k}"]}

        def f(cb, zb, step=step, variables=variables):
            return step.apply(variables, zb[None], cb[None])[0][0]

        jac = np.asarray(jax.jit(jax.vmap(jax.jacfwd(f, argnums=1)))(context, z), np.float64)
        assert np.all((np.triu(jac, 1) if k == 0 else np.tril(jac, -1)) == 0.0)
        _, s = MADE(L, (16, 16), bool(k), model.activation).apply(
            {"params": variables["params"]["made"]}, z, context)
        np.testing.assert_allclose(np.diagonal(jac, axis1=1, axis2=2), jax.nn.sigmoid(s),
                                   rtol=1e-5)
        z, log_det = step.apply(variables, z, context)
        np.testing.assert_allclose(log_det, np.linalg.slogdet(jac)[1], atol=2e-5)
        total = jac @ total
    assert np.all(np.any(total != 0, axis=0))  # reversed orders: every z_i reaches every z'_j


# -- the model -----------------------------------------------------------------------------
@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_the_models_flow_log_det_is_the_jacobians_per_example(flow):
    """flow_from(x, z0) over all K steps with each example's own (amortised / context)
    parameters: its sum of log|det| equals slogdet of the whole map's Jacobian."""
    model, params, x = flow_model(flow, steps=4)
    z0 = 1.5 * jax.random.normal(jax.random.PRNGKey(5), (len(x), L))
    _, log_det = model.apply({"params": params}, x, z0, method="flow_from")
    np.testing.assert_allclose(log_det, brute_log_dets(model_flow(model, params), x, z0),
                               atol=5e-5)
    # examples are independent: example 0's flow does not read example 1's z0
    jac = jax.jacfwd(lambda z_: model.apply({"params": params}, x, z_,
                                            method="flow_from")[0][0])(z0)
    assert np.all(np.asarray(jac)[:, 1:] == 0.0)


def _log_normal_np(z, mean, logvar):
    z, mean, logvar = (np.asarray(a, np.float64) for a in (z, mean, logvar))
    return -0.5 * np.sum(np.log(2 * np.pi) + logvar + (z - mean) ** 2 / np.exp(logvar), -1)


@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_log_q_is_the_change_of_variables(flow):
    """posterior_samples' log q(z_K | x) equals log N(z0; mu, sigma^2) - log|det J(z0)|, with
    z0 the model's own base draw (captured), N in float64 and J the autodiff Jacobian of the
    whole flow; z_K is the flow of z0 and the prior is N(0, I)."""
    model, params, x = flow_model(flow, steps=3)
    variables, k, n = {"params": params}, 3, len(x)
    (z, log_q), captured = model.apply(
        variables, x, k, method="posterior_samples", rngs={"sample": jax.random.PRNGKey(6)},
        capture_intermediates=lambda _, name: name == "sample_posterior",
        mutable=["intermediates"])
    z0 = captured["intermediates"]["sample_posterior"][0]  # (K, B, L)
    mean, logvar, _, _ = model.apply(variables, x, method="base")
    assert z.shape == (k, n, L) and log_q.shape == (k, n)
    assert float(jnp.std(z0 - mean)) > 0.1  # real draws, not the mean
    f = model_flow(model, params)
    xs = jnp.broadcast_to(x, (k, *x.shape)).reshape((k * n, *x.shape[1:]))  # (K*B, H, W, C)
    zs = z0.reshape((k * n, L))  # (K, B, L) -> (K*B, L)
    np.testing.assert_allclose(z.reshape((k * n, L)), jax.vmap(f)(xs, zs), rtol=1e-5,
                               atol=1e-6)
    want = _log_normal_np(z0, mean, logvar) - brute_log_dets(f, xs, zs).reshape((k, n))
    np.testing.assert_allclose(log_q, want, rtol=1e-4, atol=1e-3)  # float32 through K flow steps
    np.testing.assert_allclose(model.apply(variables, z, method="log_prior"),
                               _log_normal_np(z, 0.0, 0.0), rtol=1e-5)


def test_aux_gives_the_single_sample_kl_and_the_iwae_term_runs_through_density():
    """aux log_q - log_p is kl_sampled; the iwae term (posterior_samples, decode, log_prior)
    gives a tighter mean bound with k = 64 than the one-sample ELBO of an untrained model."""
    model, params, _ = flow_model("iaf", noise=0.0)
    x = to_float(jnp.asarray(load_dataset(digits_config().data).test[:200]))
    rngs = {"sample": jax.random.PRNGKey(7)}
    t = term_inputs(model, params, x, rngs=rngs,
                    config=loss_config(reduction="sum", iwae_samples=64))
    np.testing.assert_allclose(TERMS.get("kl_sampled")(t), t.aux["log_q"] - t.aux["log_p"])
    neg_l64 = TERMS.get("iwae")(t)  # -L_64 per example
    elbo = jnp.sum(jnp.logaddexp(0.0, t.logits) - x * t.logits, axis=(1, 2, 3)) + (
        t.aux["log_q"] - t.aux["log_p"])  # BCE summed + kl_sampled: -L_1
    assert bool(jnp.all(jnp.isfinite(neg_l64)))
    assert float(jnp.mean(neg_l64)) < float(jnp.mean(elbo)) - 0.5


# -- training ------------------------------------------------------------------------------
def _test_rows(workdir):
    return [json.loads(line) for line in open(workdir / "metrics.jsonl")
            if json.loads(line)["split"] == "test"]


@pytest.mark.slow
@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_a_flow_vae_trains_on_digits_and_the_nll_task_bounds_it(tmp_path, flow):
    """A short digits run lowers the test loss (BCE summed + kl_sampled: the negative ELBO);
    the nll task then gives a finite bound with L_K >= L_1 (-L_K <= -L_1)."""
    config = digits_config(**{"model.name": "vae_flow", "model.flow": flow,
                              "model.latent_dim": 4, "model.flow_steps": 4,
                              "model.iaf_hidden_sizes": (32,), "loss.reduction": "sum",
                              "loss.terms": {"kl_sampled": 1.0}, "num_epochs": 6,
                              "num_plot_images": 0, "num_sample_images": 0})
    train_and_evaluate(config, str(tmp_path / "run"))
    rows = _test_rows(tmp_path / "run")
    assert rows[-1]["loss"] < rows[0]["loss"] - 5.0
    assert np.isfinite(rows[-1]["flow_log_det"])
    run = ae_jax.load(str(tmp_path / "run"))
    assert "posterior" not in run.abilities()
    result = get_task("nll")(run, str(tmp_path), {"num_samples": 100, "num_examples": 50,
                                                  "example_batch": 25})
    iwae = result["iwae_nats"]
    assert np.isfinite(result["neg_log_px_bound_nats"])
    assert iwae["100"] == result["neg_log_px_bound_nats"] and iwae["100"] <= iwae["1"]
    # the task's Monte Carlo negative ELBO is near the training metric on the test split
    assert abs(result["negative_elbo_nats"] - rows[-1]["loss"]) < 0.2 * rows[-1]["loss"]

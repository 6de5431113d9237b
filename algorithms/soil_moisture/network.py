"""The network of the CD + ANN hybrid with its output bounded to [0, porosity] by construction (issue #31).

Fayad et al. (2022, §2.2.3) use three hidden layers of 20 ReLU neurons and one *linear* output trained on mean
squared error with Adam. A linear output is unbounded: on pixel-dates beyond the training data it returned
negative soil moisture. Here the last layer's value ``u`` goes through a scaled logistic function,

    ``SSM = porosity · σ(u)``,  ``σ(u) = 1 / (1 + exp(−u))``,

so every member, their mean and (with ``0 ≤ SSM ≤ porosity``) their spread (≤ porosity/2) stay physical whatever
the predictors. The network is trained with that output, on the paper's loss (mean squared error of SSM, here in
units of the target's standard deviation, as scikit-learn's ``MLPRegressor`` trained the linear one on
standardised targets) and the paper's optimiser: Adam (Kingma & Ba 2015, Algorithm 1) with scikit-learn's
defaults (learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-8, L2 penalty α 1e-4, mini-batches of 200, stop when the
epoch's loss has not fallen by 1e-4 for 10 epochs), Glorot-uniform initial weights (Glorot & Bengio 2010, eq. 16,
with the factor 6 scikit-learn uses for ReLU). The last bias starts at ``logit(mean(y)/porosity)``, so that the
untrained network answers the training mean. numpy only: the plugin's trainer (``sarsense:trainannmoisture``) and
the bundled model's recipe train the same network the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Adam and stopping as scikit-learn's MLPRegressor defaults (see the module docstring).
LEARNING_RATE, BETA1, BETA2, EPSILON = 1e-3, 0.9, 0.999, 1e-8
ALPHA, BATCH, TOL, NO_CHANGE = 1e-4, 200, 1e-4, 10


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))       # = 1/(1 + exp(−u)) without overflow


@dataclass
class BoundedNet:
    """One trained member: weights and biases of each layer (input → hidden … → 1) and the output bound."""

    weights: list
    biases: list
    porosity: float

    def predict(self, z):
        """Soil moisture (m³/m³, in [0, porosity]) of standardised predictors ``z`` (samples, inputs)."""
        return self.forward(np.asarray(z, np.float64))[-1][:, 0]

    def forward(self, a):
        """The activations of every layer; the last is the bounded output (samples, 1)."""
        acts = [a]
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            a = a @ w + b
            a = np.maximum(a, 0.0) if i < len(self.weights) - 1 else self.porosity * _sigmoid(a)
            acts.append(a)
        return acts


def train_bounded(z, y, *, hidden, porosity, seed, max_iter=2000):
    """Train one :class:`BoundedNet` on standardised predictors ``z`` and soil moisture ``y`` (m³/m³).

    Returns ``(net, epochs)``. ``seed`` draws the initial weights and the order of the mini-batches: the same seed
    gives the same network.
    """
    z = np.asarray(z, np.float64)
    y = np.asarray(y, np.float64).reshape(-1, 1)
    n, k = z.shape
    rng = np.random.default_rng(seed)
    sizes = [k, *hidden, 1]
    shapes = [s for a, b in zip(sizes[:-1], sizes[1:]) for s in ((a, b), (b,))]
    flat = np.zeros(sum(int(np.prod(s)) for s in shapes))
    grad = np.zeros_like(flat)

    def views(buf):
        out, at = [], 0
        for s in shapes:
            size = int(np.prod(s))
            out.append(buf[at:at + size].reshape(s))
            at += size
        return out[0::2], out[1::2]

    ws, bs = views(flat)
    gws, gbs = views(grad)
    for w, b, (a, c) in zip(ws, bs, zip(sizes[:-1], sizes[1:])):
        bound = np.sqrt(6.0 / (a + c))
        w[...] = rng.uniform(-bound, bound, (a, c))
        b[...] = rng.uniform(-bound, bound, c)
    share = np.clip(y.mean() / porosity, 0.01, 0.99)
    bs[-1][...] = np.log(share / (1.0 - share))
    net = BoundedNet(ws, bs, float(porosity))
    var = float(y.var()) or 1.0
    m, v = np.zeros_like(flat), np.zeros_like(flat)
    batch = min(BATCH, n)
    best, stale, t, epochs = np.inf, 0, 0, 0
    while epochs < max_iter:
        epochs += 1
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            acts = net.forward(z[idx])
            p, nb = acts[-1], idx.size
            err = p - y[idx]
            total += 0.5 * float(np.sum(err * err)) / var + 0.5 * ALPHA * sum(float(np.sum(w * w)) for w in ws)
            delta = err / (var * nb) * p * (1.0 - p / porosity)      # d loss / d u through porosity·σ(u)
            for i in range(len(ws) - 1, -1, -1):
                np.matmul(acts[i].T, delta, out=gws[i])
                gws[i] += ALPHA / nb * ws[i]
                np.sum(delta, axis=0, out=gbs[i])
                if i:
                    delta = (delta @ ws[i].T) * (acts[i] > 0)
            t += 1
            m *= BETA1
            m += (1.0 - BETA1) * grad
            v *= BETA2
            v += (1.0 - BETA2) * grad * grad
            flat -= LEARNING_RATE * np.sqrt(1.0 - BETA2 ** t) / (1.0 - BETA1 ** t) * m / (np.sqrt(v) + EPSILON)
        loss = total / n
        stale = stale + 1 if loss > best - TOL else 0
        best = min(best, loss)
        if stale > NO_CHANGE:
            break
    return net, epochs


def onnx_nodes(net: BoundedNet, x: str, prefix: str):
    """``(nodes, initializers, output)``: ``net`` as ONNX (MatMul, Add, Relu …, Sigmoid) on the float32 input named
    ``x``, its names prefixed by ``prefix``. The output, ``(n, 1)``, is σ(u) in [0, 1], the share of the porosity:
    the graph multiplies once by the porosity after averaging the members (:func:`.hybrid.to_onnx`), the same value
    as averaging porosity·σ(u) (one multiplication of the (n, 2) result instead of one per member)."""
    from onnx import helper, numpy_helper

    nodes, inits, a = [], [], x
    last = len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        names = [f"{prefix}{n}{i}" for n in ("W", "b", "mm", "lin", "act")]
        inits += [numpy_helper.from_array(np.asarray(w, np.float32), names[0]),
                  numpy_helper.from_array(np.asarray(b, np.float32), names[1])]
        nodes += [helper.make_node("MatMul", [a, names[0]], [names[2]]),
                  helper.make_node("Add", [names[2], names[1]], [names[3]]),
                  helper.make_node("Relu" if i < last else "Sigmoid", [names[3]], [names[4]])]
        a = names[4]
    return nodes, inits, a

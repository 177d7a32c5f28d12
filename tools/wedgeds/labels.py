"""The names and units every figure writes: one table, so axes read alike.

``QUANTITIES`` maps a variable or quantity (``lr``, ``test_loss``, ``phi``,
``distance``, ...) to (name, what it is, unit); ``axis(q)`` renders it as an axis
label, e.g. "learning rate", "test loss (nats)", "angular width φ (degrees)",
"median a* (parameter-space distance, units of |θ|)".  ``setting(key, value)``
is a legend entry such as "L2 coefficient = 0.001".  A name not in the table is
shown as it is (a setting added to the output before it is added here).
"""

import numpy as np

__all__ = ["QUANTITIES", "axis", "name", "setting", "settings"]

# quantity -> (name, description or None, unit or None)
QUANTITIES = {
    # the settings (coordinates along task, docs/output-format.md)
    "lr": ("learning rate", None, None),
    "l2": ("L2 coefficient", None, None),
    "momentum": ("momentum", None, None),
    "dropout": ("dropout probability", None, None),
    "width": ("width multiplier", None, None),
    "depth": ("hidden layers", None, None),
    "hidden": ("hidden units per layer", None, None),
    "batch_size": ("batch size", None, None),
    "epochs": ("training epochs", None, None),
    "train_size": ("training-set size", None, "images"),
    "test_size": ("test-set size", None, "images"),
    "cycle_epochs": ("epochs per cycle", None, None),
    "min_ratio": ("lowest / highest learning rate of a cycle", None, None),
    "seed": ("seed", None, None),
    "dataset": ("dataset", None, None),
    "arch": ("architecture", None, None),
    "activation": ("activation", None, None),
    "optimizer": ("optimizer", None, None),
    "schedule": ("learning-rate schedule", None, None),
    "dim": ("toy-model dimension D", None, None),
    "long": ("long directions n", None, None),
    # training, per epoch
    "epoch": ("epoch", None, None),
    "train_loss": ("training loss", None, "nats"),
    "test_loss": ("test loss", None, "nats"),
    "train_accuracy": ("training accuracy", None, None),
    "test_accuracy": ("test accuracy", None, None),
    "param_norm": ("parameter norm |θ|", None, None),
    # tunnels (Figures 2, 5)
    "phi": ("angular width φ", None, "degrees"),
    "distance": ("median a*", "parameter-space distance", "units of |θ|"),
    "astar": ("a*", "parameter-space distance", "units of |θ|"),
    "tunnel_norm": ("|P0|", "parameter norm at the optimum", "units of |θ|"),
    # planes and connectors (Figures 2, 3, 4)
    "plane_x": ("x along e1 = (O2 - O1)/|O2 - O1|", None, "units of |θ|"),
    "plane_y": ("y along e2, towards O3", None, "units of |θ|"),
    "probe_loss": ("probe-set loss", None, "nats"),
    "loss": ("loss", None, "nats"),
    "accuracy": ("accuracy", None, None),
    "position": ("position along the connector", "O1 = 0, X_k = k/(K+1), O2 = 1", None),
    "changed": ("test predictions changed", None, "fraction"),
    "n_short": ("short directions N_short", "Hessian eigenvalues above λ_thr", None),
    "m": ("connector order m", "optima joined: m + 1", None),
    "m_site": ("m", "0 optima, 1 tunnel points, > 1 m-connector centres", None),
    # subspaces (intrinsic dimension, toy hyperplanes)
    "d": ("subspace dimension d", None, None),
    "hyperplane_d": ("hyperplane dimension d", None, None),
    "success": ("success fraction", "L_final <= 1e-6 L_initial", None),
    "loss_ratio": ("median L_final / L_initial", None, None),
    "near_zero": ("near-zero coordinates", "|P_j| <= 1e-3 |P|/sqrt(D)", None),
    # swa (Figure 6)
    "lr_max": ("peak learning rate of the cycles", None, None),
    "snapshot_distance": ("distance between snapshots", None, "units of |θ|"),
    "snapshot_cosine": ("cosine between snapshots", None, None),
}


def name(q):
    """The short name of quantity ``q`` ("learning rate"), or ``q`` itself."""
    return QUANTITIES.get(q, (q, None, None))[0]


def axis(q, note=None, wrap=None):
    """The axis label of quantity ``q``: name, then (description, unit) where the
    table has them; ``note`` adds a qualifier, e.g. axis("phi", "dL = 1 nat")
    -> "angular width φ (degrees, dL = 1 nat)".  A label longer than ``wrap``
    characters puts the parenthesis on a second line."""
    nm, what, unit = QUANTITIES.get(q, (q, None, None))
    extra = [x for x in (what, unit, note) if x]
    if not extra:
        return nm
    sep = "\n" if wrap and len(nm) + 3 + len(", ".join(extra)) > wrap else " "
    return f"{nm}{sep}({', '.join(extra)})"


def _value(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def setting(key, value):
    """A legend entry for one setting: "L2 coefficient = 0.001"."""
    return f"{name(key)} = {_value(value)}"


def settings(keys, values):
    """A legend entry for several settings, joined by ", " ("" for none)."""
    return ", ".join(setting(k, v) for k, v in zip(keys, values))

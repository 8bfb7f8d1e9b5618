"""nnlib: the reference numpy library of *Neural Networks from Scratch*.

Every graded name of the course is importable from here (``from nnlib import
sigmoid``). Submodules are imported on first use, so ``import nnlib`` stays
cheap and a notebook only pays for what it touches.
"""
from importlib import import_module

__version__ = "0.1.0"

# name -> submodule that defines it (each name is defined in exactly one module)
_HOME = {
    # 01 dot product
    "dot_loop": "vectors", "dot": "vectors", "cosine_similarity": "vectors",
    "most_similar": "vectors", "neuron": "vectors", "dense": "vectors",
    # 02 activations
    "sigmoid": "activations", "sigmoid_derivative": "activations",
    "relu": "activations", "relu_derivative": "activations",
    "tanh": "activations", "tanh_derivative": "activations",
    "softmax": "activations", "log_softmax": "activations",
    # 03 chain rule and gradient checking
    "numerical_derivative": "gradcheck", "numerical_gradient": "gradcheck",
    "rel_error": "gradcheck", "check_gradients": "gradcheck",
    "directional_check": "gradcheck", "expression_grads": "chain_rule",
    # 04 forward pass and losses
    "load_and_split": "datasets", "init_params": "network", "forward": "network",
    "mse_loss": "losses", "binary_cross_entropy": "losses",
    # 05 backward pass
    "neuron_backward": "network", "backward": "network",
    # 06 optimizers
    "sgd_step": "optim", "momentum_step": "optim", "adam_step": "optim",
    # 07 training
    "iterate_minibatches": "training", "train_sgd": "training", "fit": "training",
    "predict": "training", "accuracy": "training",
    # 08 autograd
    "Value": "autograd", "Neuron": "autograd", "Layer": "autograd", "MLP": "autograd",
    # data sets (all offline)
    "load_digits_split": "datasets", "load_heart": "datasets", "make_spiral": "datasets", "make_moons": "datasets",
    "make_toy": "datasets",
    # stable losses straight from logits
    "binary_cross_entropy_from_logits": "losses", "cross_entropy_from_logits": "losses",
    # 09 softmax MLP
    "one_hot": "losses", "cross_entropy": "losses",
    "softmax_cross_entropy_backward": "losses",
    "kaiming_init": "softmax_mlp", "SoftmaxMLP": "softmax_mlp",
}

__all__ = sorted(_HOME)


def __getattr__(name):
    if name in _HOME:
        value = getattr(import_module(f"nnlib.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOME))

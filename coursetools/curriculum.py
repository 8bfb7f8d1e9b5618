"""The course contract (shared/curriculum.md): assignment folders and their graded names."""

# Graded names per assignment, in the order the notebook presents them.
CURRICULUM = {
    "01_dot_product": ["dot_loop", "dot", "cosine_similarity", "most_similar", "neuron", "dense"],
    "02_sigmoid": ["sigmoid", "sigmoid_derivative", "relu", "relu_derivative", "tanh_derivative"],
    "03_chain_rule": ["numerical_derivative", "numerical_gradient", "rel_error",
                      "expression_grads"],
    "04_forward": ["load_and_split", "init_params", "forward", "mse_loss", "binary_cross_entropy"],
    "05_backward": ["neuron_backward", "backward"],
    "06_optimizer": ["sgd_step", "momentum_step", "adam_step"],
    "07_train_loop": ["iterate_minibatches", "train_sgd", "fit", "predict", "accuracy"],
    "08_autograd": ["Value", "Neuron", "Layer", "MLP"],
    "09_softmax_mlp": ["softmax", "one_hot", "cross_entropy", "softmax_cross_entropy_backward",
                       "kaiming_init", "SoftmaxMLP"],
}

#: exercises graded in steps: graded name -> its parts after the first, each checked in a
#: test cell of its own, test_<name>-<part> (the first is test_<name>); see
#: nnlib.grading.autograd.PARTS and nnlib.grading.softmax_mlp.PARTS
PARTS = {"Value": ["operators", "functions", "engine"], "SoftmaxMLP": ["gradients", "training"]}


def grade_cell_ids(assignment):
    """The grade ids of an assignment's test cells, in the notebook's order."""
    return [f"test_{name}" + suffix for name in CURRICULUM[assignment]
            for suffix in ["", *(f"-{part}" for part in PARTS.get(name, []))]]


def graded_name(test_id):
    """The graded name a test cell checks: ``Value`` for test_Value and test_Value-engine."""
    return test_id[len("test_"):].partition("-")[0] if test_id.startswith("test_") else test_id


def part_of(test_id):
    """The part of its exercise a test cell checks ("" for the first or only one)."""
    return test_id.partition("-")[2] if test_id.startswith("test_") else ""


def last_test_id(name):
    """The test cell that decides the last part of graded name ``name``."""
    return f"test_{name}" + (f"-{PARTS[name][-1]}" if name in PARTS else "")

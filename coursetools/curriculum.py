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

"""Grading helpers: the only functions the notebooks' test cells call.

Each ``check_<name>(student_fn, hidden=False)`` runs the student's function and
nnlib's reference on seeded inputs of several shapes and raises
:class:`GradingError` (an AssertionError) with a diagnosis on the first problem.
``hidden=True`` runs the autograder's extra inputs.
"""
from nnlib.grading.core import GradingError
from nnlib.grading.vectors import (check_cosine_similarity, check_dense, check_dot,
                                   check_dot_loop, check_most_similar, check_neuron)
from nnlib.grading.activations import (check_relu, check_relu_derivative, check_sigmoid,
                                       check_sigmoid_derivative, check_tanh_derivative)
from nnlib.grading.chain_rule import (check_expression_grads, check_numerical_derivative,
                                      check_numerical_gradient, check_rel_error)
from nnlib.grading.network import (check_backward, check_binary_cross_entropy, check_forward,
                                   check_init_params, check_mse_loss, check_neuron_backward)
from nnlib.grading.optim import check_adam_step, check_momentum_step, check_sgd_step
from nnlib.grading.training import check_accuracy, check_iterate_minibatches, check_predict
from nnlib.grading.sgd_loop import check_train_sgd
from nnlib.grading.fitting import check_fit
from nnlib.grading.datasets import check_load_and_split
from nnlib.grading.autograd import check_Value
from nnlib.grading.modules import check_Layer, check_MLP, check_Neuron
from nnlib.grading.softmax import (check_cross_entropy, check_kaiming_init, check_one_hot,
                                   check_softmax, check_softmax_cross_entropy_backward)
from nnlib.grading.softmax_mlp import check_SoftmaxMLP

__all__ = [
    "GradingError",
    "check_dot_loop", "check_dot", "check_cosine_similarity", "check_most_similar",
    "check_neuron", "check_dense",
    "check_sigmoid", "check_sigmoid_derivative", "check_relu", "check_relu_derivative",
    "check_tanh_derivative",
    "check_numerical_derivative", "check_numerical_gradient", "check_rel_error",
    "check_expression_grads",
    "check_load_and_split",
    "check_init_params", "check_forward", "check_mse_loss", "check_binary_cross_entropy",
    "check_neuron_backward", "check_backward",
    "check_sgd_step", "check_momentum_step", "check_adam_step",
    "check_iterate_minibatches", "check_train_sgd", "check_fit", "check_predict",
    "check_accuracy",
    "check_Value", "check_Neuron", "check_Layer", "check_MLP",
    "check_softmax", "check_one_hot", "check_cross_entropy",
    "check_softmax_cross_entropy_backward", "check_kaiming_init", "check_SoftmaxMLP",
]

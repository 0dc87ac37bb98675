"ig2: IG² (Integrated Gradients on an Iterative Gradient path) and the path-attribution family for Keras 3."
__version__ = "0.1.0"

from .core import ModelAdapter, Explainer
from .paths import GradPath, auto_step_size
from .methods import IG2, GradCFE, PathResult, OtherClassReferences, RelevantReferences
from .pathmethods import IntegratedGradients, ExpectedGradients, GuidedIG, BlurIG, SmoothGrad, VanillaGradient, GradientInput
from .text import EmbeddingAdapter, TextExplainer, TextAttribution, load_questions, load_question_cnn
from .widgets import PathExplorer  # also makes ig2.viz available
from .regions import SubmodularRegions, RegionResult, divide, partition_from_masks, greedy_maximize, blurred
from .scale import explain_dataset, load_shards, sample_images, calibrate_batchnorm, IMAGENET_IG2
from .metrics import insertion, deletion, pic, sic, aic, completeness_gap, mu_fidelity, infidelity, max_sensitivity, pointing_game, energy_in_mask, get_metric, METRICS

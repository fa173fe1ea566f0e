"""The sketching engine: q-SFT, resumable and cancellable (plan, query cache, decoder, orchestration).

::

    from shapzero_core.sketch import SketchConfig, plan_for_budget, plan_sketch, sketch_model

    plan = plan_sketch(26, 4, plan_for_budget(500_000, n=26, q=4))
    print(plan.summary())                    # exact number of model queries, before anything runs
    sketch = sketch_model(model, n=26, config=plan.config, cache_dir="cache/")
    sketch.report["r2"]                      # held-out R^2
"""

from .cache import QueryCache
from .decode import peel, refit, subsampled_transforms, symmetrize
from .plan import QueryChunk, SketchConfig, SketchPlan, block_sequences, plan_for_budget, plan_sketch
from .run import evaluate_chunk, model_identity, sketch_model

__all__ = [
    "QueryCache",
    "QueryChunk",
    "SketchConfig",
    "SketchPlan",
    "block_sequences",
    "evaluate_chunk",
    "model_identity",
    "peel",
    "plan_for_budget",
    "plan_sketch",
    "refit",
    "sketch_model",
    "subsampled_transforms",
    "symmetrize",
]

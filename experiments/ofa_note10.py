"""Once-for-All's Note10 problem as a user runs it: search OFA's width-1.2 MobileNetV3 space for a
Samsung Note10 with OFA's published accuracy predictor and latency tables. No supernet, no data:
the accuracy is the predictor's, the latency the tables', so `nas search` runs from an empty work
directory in minutes on a laptop.

Get the files (public repository han-cai/files, folder ofa/): acc_predictor.pth and
note10/{160,176,192,208,224}_lookup_table.yaml. Then (docs/benchmarks/search.md has the details):

    nas accuracy import-ofa files/ofa/acc_predictor.pth --out ofa_acc.npz
    nas profile from-lut note10 --space ofa_mbv3_w12 --lut files/ofa/note10/160_lookup_table.yaml \\
        --lut ...176... --lut ...192... --lut ...208... --lut ...224... --out note10.yaml
    nas search ofa_note10 --workdir runs/note10 --profile note10.yaml --set search.accuracy=ofa_acc.npz

The search: NSGA-II on (accuracy, Note10 latency), population 100 for 50 generations (5,000
predictor calls, the size the Note10 benchmark measured against OFA's own evolutionary search),
each generation's children pre-screened from 50 candidates each by a predictor fitted on the
answers so far with the latency computed exactly (predictor-guided search), at OFA's tutorial's
resolutions 160..224 step 16 (the tables' and the predictor's). The front lists every network
from 8 to 64 ms: take the one under your constraint (`front.jsonl`; the OFA form of each network,
as `set_active_subnet` takes it, is `{"ks", "e", "d", "r"}` of its `arch`).
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="ofa_note10",
        space="ofa_mbv3_w12",
        data=DataConfig(source="tfds", name="imagenet2012"),  # only a supernet run would read data
        supernet=SupernetConfig(resolutions=[160, 176, 192, 208, 224]),
        search=SearchConfig(algorithm="nsga2", population=100, generations=50, prescreen_factor=50,
                            objectives=["accuracy", "latency_ms"], budgets={"latency_ms": 64.0},
                            profiles=[], resolutions=[160, 176, 192, 208, 224]),
        final=FinalConfig(top_k=8, baselines=[], train_hand_designed=False),
    )
    if smoke:
        cfg.search.population, cfg.search.generations, cfg.search.prescreen_factor = 8, 3, 4
    return cfg

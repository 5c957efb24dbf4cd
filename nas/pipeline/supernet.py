"""Stage 1: the run's trained supernet, trained here (:func:`nas.train.train_supernet`, resumes
from Orbax checkpoints), reused from another work directory (``supernet_from``) or imported
(``supernet.init``: OFA's published checkpoint or a jaxnas supernet, :mod:`nas.pretrained.init`)."""
from __future__ import annotations

import json
from pathlib import Path

from nas.errors import InputError
from nas.files import atomic_write_bytes, read_bytes
from nas.rundir import RunDir


def link_supernet(source, workdir) -> dict:
    """Reuse the trained supernet of another work directory (design studies): its result is
    copied and its checkpoints are linked into ``workdir``'s ``supernet/``; returns its result."""
    src, dst = RunDir(Path(source).resolve()).supernet, RunDir(workdir).supernet
    if not src.result.is_file() or not src.checkpoints.is_dir():
        raise InputError(f"supernet_from: {source} holds no trained supernet")
    dst.path.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dst.result, read_bytes(src.result, what="supernet result"))
    link = dst.checkpoints
    if link.is_symlink() or not link.exists():
        link.unlink(missing_ok=True)
        link.symlink_to(src.checkpoints, target_is_directory=True)
    from nas.train.loop import stored_record

    return stored_record(dst.result)["result"]


def check_space_fits_data(cfg, dataset) -> None:
    """Fit the space's classifier to the data, and refuse data its networks cannot take.

    The class count comes from the data: a space that does not pin it gets the dataset's
    (``cfg.space_def`` then records the declaration with it, so every later command and worker
    sees the same space); a space that pins another count, or images with another number of
    channels, is a ConfigError naming ``space``, before anything trains."""
    from nas.config import ConfigError
    from nas.search_spaces import activate, declaration_of, get_space

    space = get_space(cfg.space)
    have_classes = int(dataset.num_classes)
    if have_classes < 2:
        raise ConfigError(f"data: {dataset.name} has {have_classes} class; a classifier needs at least two")
    if space.num_classes != have_classes:
        if space.pins_classes:
            raise ConfigError(f"space: {cfg.space} pins {space.num_classes} classes but data "
                              f"{dataset.name} has {have_classes} (set num_classes, or pin_classes: false, "
                              "in the space's declaration)")
        cfg.space, cfg.space_def = activate(cfg.space, declaration_of(space.with_num_classes(have_classes)))
        space = get_space(cfg.space)
    want = space.net_spec(space.smallest()).input_shape[-1]
    have = dataset.input_shape[-1]
    if want != have:
        raise ConfigError(f"space: {cfg.space} takes {want}-channel images but data "
                          f"{cfg.data.source}{':' + cfg.data.name if cfg.data.name else ''} has {have} "
                          "(choose a space for this data)")
    sides = {space.net_spec(a).input_shape[0] for a in (space.smallest(), space.largest())}
    stored = dataset.input_shape[0]
    if not dataset.streaming and sides != {stored}:
        # in memory, every subnet would be trained and scored at the stored size whatever its
        # resolution gene (nas.data.at_resolution), so a search would get small resolutions for free
        raise ConfigError(f"space: {cfg.space} searches input sides {min(sides)}..{max(sides)} px but data "
                          f"{cfg.data.source} is held in memory at {stored} px; stream it (data.stream=on, "
                          "image_folder or TFDS data) so each subnet is scored at its own resolution")


def resolve_normalization(cfg) -> None:
    """``data.normalize: auto`` made definite before anything reads data: ``imagenet`` when
    ``supernet.init`` is Once-for-All's supernet (OFA's networks take ImageNet-normalised input),
    i.e. a file (its checkpoint) or a jaxnas folder imported from one (``nas supernet import-ofa``,
    as its record says: :func:`nas.pretrained.init.starts_from_ofa`), else ``dataset``."""
    from nas.pretrained.init import resolve_init, starts_from_ofa

    try:
        init = resolve_init(cfg.supernet.init) if cfg.supernet.init else None
        if cfg.data.normalize == "auto":
            cfg.data.normalize = "imagenet" if init is not None and starts_from_ofa(init) else "dataset"
    except InputError as e:
        raise InputError(f"supernet.init: {str(e).removeprefix('supernet.init: ')}") from None


def import_supernet(cfg, workdir, dataset) -> dict:
    """Stage 1 with ``supernet.init``: the source's weights become the run's supernet (checkpoint
    step 0); the largest and smallest subnets are scored (BN recalibrated) as after training.
    Skipped when the run already holds this very import; returns the record's result."""
    import time

    from nas.pretrained.init import describe_source, import_fingerprint, load_source, write_supernet
    from nas.search_spaces import get_space
    from nas.train.loop import stored_result
    from nas.train.supernet import evaluate_subnet

    directory = RunDir(workdir).supernet
    source = describe_source(cfg.supernet.init)
    fingerprint = import_fingerprint(cfg.space, source, dataset.input_shape, dataset.num_classes)
    done = stored_result(directory.result, fingerprint)
    if done is not None:
        return done
    t0 = time.perf_counter()
    model, source = load_source(cfg.supernet.init, cfg.space)
    if "head" in source:
        h = source["head"]
        raise InputError(f"supernet.init: {cfg.supernet.init} was trained on {h['from_classes']} classes, the data has "
                         f"{h['to_classes']}: its new classifier must be trained; set supernet.schedule=progressive "
                         "with supernet.phases=[{\"name\":\"head\",\"epochs\":0.5},{\"name\":\"expand\",\"epochs\":2}] "
                         "(docs/supernet_init.md)")
    from flax import nnx

    graphdef, state = nnx.split(model)
    space = get_space(cfg.space)
    info = {"source": source, "steps": 0, "import_time_s": time.perf_counter() - t0}
    for name, arch in (("largest", space.largest()), ("smallest", space.smallest())):
        info[f"val_acc_{name}"] = evaluate_subnet(graphdef, state, model, arch, dataset,
                                                  batch_size=cfg.supernet.batch_size,
                                                  bn_batches=cfg.supernet.bn_recalibration_batches)
    if directory.path.exists():  # another supernet's leftovers: moved aside, never deleted
        directory.path.rename(directory.path.with_name(f"supernet.replaced.{int(time.time())}"))
    directory.path.mkdir(parents=True)
    return write_supernet(directory, model, fingerprint, info)


def run_supernet_stage(cfg, workdir, dataset) -> dict:
    """The supernet's training record (``val_acc_largest``, ``val_acc_smallest``, ...)."""
    if cfg.supernet.init and cfg.supernet.schedule == "progressive":  # training continues from it
        from nas.pretrained.init import describe_source, load_source
        from nas.train import train_supernet

        def init_error(e: InputError) -> InputError:
            return InputError(f"supernet.init: {str(e).removeprefix('supernet.init: ')}")

        def load():  # only when there is training left to do
            try:
                model, loaded = load_source(cfg.supernet.init, cfg.space, seed=cfg.supernet.seed)
            except InputError as e:
                raise init_error(e) from None
            if "head" in loaded:  # transfer: the record says the classifier was replaced
                source["head"] = loaded["head"]
            return model

        try:
            source = describe_source(cfg.supernet.init)
        except InputError as e:
            raise init_error(e) from None
        return train_supernet(cfg.space, cfg.supernet, cfg.data, workdir, dataset, start=(load, source))
    if cfg.supernet.init:
        from nas.train.distributed import is_main_process

        return import_supernet(cfg, workdir, dataset) if is_main_process() else {}
    if cfg.supernet_from:
        from nas.train.distributed import is_main_process

        return link_supernet(cfg.supernet_from, workdir) if is_main_process() else {}
    from nas.train import train_supernet

    return train_supernet(cfg.space, cfg.supernet, cfg.data, workdir, dataset)


def data_shape(cfg, workdir) -> tuple[tuple[int, ...], int]:
    """``(input_shape, num_classes)`` of the run's dataset, from the trained supernet's record
    (no dataset load); the dataset is loaded only when that record is missing."""
    try:
        fp = json.loads(RunDir(workdir).supernet.result.read_text())["fingerprint"]
        return tuple(int(v) for v in fp["input_shape"]), int(fp["num_classes"])
    except (OSError, ValueError, KeyError, TypeError):
        from nas.data import load_dataset

        ds = load_dataset(cfg.data)
        return ds.input_shape, ds.num_classes

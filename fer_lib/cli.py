"""`python -m fer_lib {info,train,evaluate,notebooks,predict,export,robustness,framing,ship,report}`: fer_lib from the command line."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from .conditions import SEVERITIES
from .dataset import DataError, FERDataset, Splits
from .detectors import DEFAULT_DETECTOR, DETECTORS
from .detectors import describe as describe_detectors
from .loading import load_fer2013
from .output_folder import Interrupted
from .report import markdown_report, summary, write_run_metrics
from .runtimes import RUNTIMES
from .training import METRICS_FILE, PRECISIONS, TARGETS, TEACHER_WEIGHT

SPLIT_NAMES = {"train": "Training", "validation": "PrivateTest", "test": "PublicTest"}
MODEL_HELP = ("a shipped model's name (ferplus_cnn, robust_cnn, strong_cnn, strong_ensemble) or a .keras file, "
              "e.g. runs/paper_cnn/best.keras (default: ferplus_cnn)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with quiet_native_logs(not args.verbose), stop_on_sigterm():
        try:
            return args.command(args)
        except Interrupted as error:  # Ctrl-C in predict: what it read is kept, and this says where
            print(f"\n{error}", file=sys.stderr)
            return 130
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except (DataError, FileExistsError, FileNotFoundError, NotADirectoryError, PermissionError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except (ConnectionError, ImportError) as error:  # a cluster that does not answer, a runtime not installed
            print(f"error: {error}", file=sys.stderr)
            return 1


@contextlib.contextmanager
def quiet_native_logs(quiet: bool = True):
    """While it lasts, what native libraries write to the process's stderr (TensorFlow's and absl's start-up lines,
    LiteRT's delegate notice) goes nowhere, while Python's sys.stderr (fer_lib's own messages, warnings, tracebacks)
    still reaches the terminal. TF_CPP_MIN_LOG_LEVEL=3 alone leaves several of those lines."""
    import os

    try:
        terminal = sys.stderr.fileno() == 2  # not where a caller (a test's capture) replaced sys.stderr
    except (AttributeError, OSError, ValueError):
        terminal = False
    if not quiet or not terminal:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to redirect
        yield
        return
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(python_stderr, "encoding", None),
                           errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr.close()
        sys.stderr = python_stderr


@contextlib.contextmanager
def stop_on_sigterm():
    """SIGTERM (a `kill`, a container stopping) ends a command as Ctrl-C does: what it read is kept."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer_lib", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def data_options(command):
        command.add_argument("--data", metavar="PATH", help="FER2013 CSV (.csv/.csv.gz) or image-folder root "
                             "(default: $FER2013_PATH, then data/; the demo dataset when none is found; "
                             "'demo': the demo dataset)")
        command.add_argument("--skip-bad-rows", action="store_true", help="skip malformed rows instead of stopping")
        command.add_argument("--ferplus", metavar="CSV", help="FER+'s votes (fer2013new.csv), a second label set "
                             "(default: $FERPLUS_PATH, then fer2013new.csv beside --data; used where its rows line up)")

    info = commands.add_parser("info", help="where the data comes from, split sizes and class counts")
    data_options(info)
    info.set_defaults(command=_info)

    train = commands.add_parser("train", help="train the paper's CNN (or the stronger one), then evaluate it on PublicTest")
    data_options(train)
    train.add_argument("--model", choices=("paper", "strong", "robust"), default="paper",
                       help="paper: the paper's CNN and recipe; strong: fer_lib.strong_cnn's VGG-style CNN and recipe; "
                            "robust: --parent fine-tuned with the special conditions (fer_lib.robust_cnn) "
                            "(default: %(default)s)")
    train.add_argument("--parent", metavar="MODEL", help="robust only: the .keras model to fine-tune "
                       "(default: the shipped strong_cnn)")
    train.add_argument("--run-dir", default="runs/paper_cnn", help="run folder (default: %(default)s)")
    train.add_argument("--epochs", type=_positive, help="default: 20 (the paper), 36 (strong), 8 (robust)")
    train.add_argument("--batch-size", type=_positive, default=64, help="default: %(default)s (the paper)")
    train.add_argument("--learning-rate", type=float, help="peak learning rate; default: 1e-3 (the paper, Adam), "
                       "0.05 (strong, SGD), 0.01 (robust, SGD)")
    train.add_argument("--dropout", type=_fraction, help="strong only: the dropout rate before and after the dense "
                       "layer (default: 0.5)")
    train.add_argument("--erasing", type=_fraction, help="strong only: the chance that a training face gets a random "
                       "rectangle erased (default: 0.5)")
    train.add_argument("--crop", type=int, metavar="PIXELS", help="strong only: look at a random PIXELS x PIXELS "
                       "window of each training face and the centre one at inference (16-48; default: 0, the whole face)")
    train.add_argument("--interpolation", choices=("bilinear", "nearest"), help="strong only: how the training shift "
                       "and zoom resample faces; nearest keeps them as sharp as test faces (default: bilinear)")
    train.add_argument("--conditions", type=_share, metavar="SHARE", help="strong only: put this share of the "
                       "training faces under a random special condition (as --model robust does), behind a per-face "
                       "contrast normalization (default: 0, none)")
    train.add_argument("--contrast-normalization", action="store_true", default=None, help="strong: a per-face "
                       "contrast normalization in front of the network, without the conditions (default: off; the "
                       "robust recipe always has it)")
    train.add_argument("--conditioned-share", type=_share, metavar="SHARE", help="robust only: the share of training "
                       "faces put under a random special condition each epoch (default: 0.6)")
    train.add_argument("--focus", nargs="+", metavar="NAME", help="robust only: the conditions drawn --focus-weight "
                       "times as often as the others (default: low_light glasses dark+angle glasses+angle)")
    train.add_argument("--focus-weight", type=float, metavar="W", help="robust only: how much more often the --focus "
                       "conditions are drawn (default: 2)")
    train.add_argument("--pipeline-share", type=_share, metavar="SHARE", help="robust only: the share of training "
                       "faces shown each epoch as the end-to-end pipeline cuts them out of a photo (placed into a "
                       "face-free scikit-image photograph, found by the default detector, aligned, cropped; computed "
                       "once before training; default: 0, none)")
    train.add_argument("--pipeline-conditions", action="store_true", default=None, help="robust only, with --pipeline-share: put "
                       "the pipeline's faces under their conditions before they enter the photo (a dark face in a "
                       "well-lit scene, as the end-to-end benchmark has them), drawn once, none added in the epochs")
    train.add_argument("--denoise", type=_non_negative, metavar="STRENGTH", help="robust only: every face reaches "
                       "the network through the denoising of dark faces at STRENGTH x its own noise, as ship's "
                       "--denoise reads them (default: 0, none; ship then puts the same denoising in front)")
    train.add_argument("--targets", choices=TARGETS, help="what each face is taught: fer2013 (its FER2013 label, the "
                       "paper's protocol; default), ferplus (FER+'s ten votes as a distribution; needs fer2013new.csv) "
                       "or mix (their mean); faces FER+ calls 'not a face' or 'unknown' are left out of the last two")
    train.add_argument("--teacher", nargs="+", metavar="MODEL", help="strong and robust: distil these models (shipped "
                       "names or .keras files): each face is also taught their mean probabilities on it, clean "
                       "(default: none)")
    train.add_argument("--teacher-weight", type=_share, metavar="W", help="with --teacher: the teachers' share of each "
                       f"face's target, the rest from --targets (default: {TEACHER_WEIGHT})")
    train.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    train.add_argument("--train-limit", type=_positive, metavar="N", help="train on the first N Training rows only")
    train.add_argument("--overwrite", action="store_true", help="replace a finished run in --run-dir")
    train.add_argument("--precision", choices=PRECISIONS, help="what the network computes in; the weights, the softmax "
                       "and the loss stay float32. bfloat16: the CPU's bfloat16 units (avx512_bf16, AMX) or a GPU's; "
                       "float16: GPUs with tensor cores (default: float32)")
    train.set_defaults(command=_train)

    evaluate = commands.add_parser("evaluate", help="score a saved .keras model on one split")
    data_options(evaluate)
    evaluate.add_argument("--model", nargs="+", metavar="MODEL", help=MODEL_HELP + "; several: their probabilities "
                          "averaged (an ensemble)")
    evaluate.add_argument("--split", choices=SPLIT_NAMES, default="test",
                          help="train=Training, validation=PrivateTest, test=PublicTest (default: %(default)s)")
    test_time_options(evaluate)
    runtime_option(evaluate)
    evaluate.add_argument("--labels", choices=("fer2013", "ferplus"), default="fer2013", help="score against "
                          "FER2013's labels, or the FER+ vote majority where it is one of the seven emotions "
                          "(default: %(default)s)")
    evaluate.add_argument("--output", metavar="JSON", help="also write the numbers to this JSON file")
    evaluate.set_defaults(command=_evaluate)

    notebooks = commands.add_parser("notebooks", help="execute the notebook series in order with papermill (headless)")
    notebooks.add_argument("--data", metavar="PATH", help="as for train ('demo': the demo dataset)")
    notebooks.add_argument("--run-dir", default="runs/paper_cnn", help="run folder (default: %(default)s)")
    notebooks.add_argument("--epochs", type=_positive, default=20, help="default: %(default)s (the paper)")
    notebooks.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    notebooks.add_argument("--row-limit", type=_positive, metavar="N", help="train on the first N Training rows only")
    notebooks.add_argument("--overwrite", action="store_true", help="train again over a finished run in --run-dir "
                           "(without it, a finished run with the same settings is reused)")
    notebooks.add_argument("--hide-faces", action="store_true", help="no FER2013 pixels in the outputs: mean faces and "
                           "placeholders instead (how the committed notebooks are made)")
    notebooks.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks, by number (e.g. 05)")
    notebooks.add_argument("--output", metavar="DIR", help="where the executed notebooks go (default: RUN_DIR/notebooks)")
    notebooks.set_defaults(command=_notebooks)

    predict = commands.add_parser("predict", help="faces and emotions in images, folders, videos or a camera")
    predict.add_argument("paths", nargs="*", metavar="PATH", help="image files, video files or folders of them")
    predict.add_argument("--model", help=MODEL_HELP)
    predict.add_argument("--output", default="predictions", help="folder for predictions.csv/.json, annotated copies "
                         "and video timelines (default: %(default)s)")
    predict.add_argument("--fps", type=_non_negative, default=1.0, help="video frames read per second; 0: every frame "
                         "(default: %(default)s, the paper's once a second)")
    predict.add_argument("--camera", type=_camera, metavar="N|URL", help="also read a camera: a webcam by OpenCV's "
                         "index (0, 1, ...) or a network camera's stream (rtsp://..., http://... MJPEG), reconnected "
                         "when it drops")
    predict.add_argument("--seconds", type=_non_negative, default=10.0, help="how long to read the camera "
                         "(default: %(default)s)")
    predict.add_argument("--video-detect-side", type=_positive, default=320, help="video frames are searched for faces "
                         "scaled to this longest side: larger finds smaller faces, slower (default: %(default)s)")
    predict.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                         help="; ".join(describe_detectors()) + " (default: %(default)s)")
    predict.add_argument("--no-annotate", action="store_true", help="write only the CSV/JSON, no annotated copies")
    runtime_option(predict, default="litert")
    predict.add_argument("--ray", nargs="?", const=True, metavar="ADDRESS", help="spread the work over Ray Data "
                         "workers: a local Ray on this machine, or the cluster at ADDRESS (HOST:PORT of `ray start "
                         "--head`, ray://HOST:10001); the same files as without it")
    predict.add_argument("--parquet", action="store_true", help="also write predictions.parquet (for large outputs)")
    predict.add_argument("--overwrite", action="store_true", help="replace an earlier run's results in --output "
                         "(without it, a folder holding them is refused)")
    predict.add_argument("--resume", action="store_true", help="carry on an interrupted run in --output: the inputs "
                         "it finished are kept, the others read")
    predict.set_defaults(command=_predict)

    export = commands.add_parser("export", help="SavedModel and TensorFlow Lite (float32, int8) files, checked on PublicTest")
    data_options(export)
    export.add_argument("--model", help=MODEL_HELP)
    export.add_argument("--output", default="export", help="folder for the exports and export.json (default: %(default)s)")
    export.set_defaults(command=_export)

    robustness = commands.add_parser("robustness", help="PublicTest accuracy under the special conditions "
                                     "(low light, glasses, head angle, ...), each at severities 1-5")
    data_options(robustness)
    robustness.add_argument("--model", nargs="+", metavar="MODEL", help=MODEL_HELP + "; several: their probabilities "
                            "averaged (an ensemble)")
    robustness.add_argument("--conditions", nargs="+", metavar="NAME", help="default: all of fer_lib.conditions.CONDITIONS; "
                            "HELD_OUT's (side_light dim_camera visor) are never trained on")
    robustness.add_argument("--rows", type=_positive, metavar="N", help="only the first N PublicTest faces")
    robustness.add_argument("--labels", choices=("fer2013", "ferplus"), default="fer2013", help="score against "
                            "FER2013's labels, or the FER+ vote majority on the faces where it is one of the seven "
                            "emotions (default: %(default)s)")
    test_time_options(robustness)
    runtime_option(robustness)
    robustness.add_argument("--severities", type=int, nargs="+", choices=SEVERITIES, default=list(SEVERITIES),
                            help="default: all (%(default)s); 0, clean, is always measured")
    robustness.add_argument("--seed", type=int, default=0, help="the transforms' seed (default: %(default)s)")
    robustness.add_argument("--detectors", nargs="+", choices=DETECTORS, metavar="NAME", help="also end to end: the "
                            "same faces placed into whole frames, found by each of these detectors (of "
                            f"{', '.join(DETECTORS)}), aligned, cropped and read; a face not found counts as wrong")
    robustness.add_argument("--sizes", type=_positive, nargs="+", default=[96], metavar="PX", help="with --detectors: "
                            "the faces' sides in the frames, in pixels (default: %(default)s)")
    robustness.add_argument("--face-free-frames", type=_positive, default=240, metavar="N", help="with --detectors: "
                            "also count false faces in N real 640x480 frames without any face (default: %(default)s)")
    robustness.add_argument("--background", metavar="IMAGE", help="with --detectors: the photograph the faces are "
                            "placed into (default: scikit-image's rocket, a launch pad without faces)")
    robustness.add_argument("--output", metavar="JSON", help="also write the rows and summary to this JSON file")
    robustness.set_defaults(command=_robustness)

    framing = commands.add_parser("framing", help="measure how FER2013 frames a face (against the face detector's box) "
                                  "and where its eyes sit")
    data_options(framing)
    framing.add_argument("--faces", type=_positive, default=2000, help="first N Training faces (default: %(default)s)")
    framing.add_argument("--detector", choices=DETECTORS, default="haar", help="the face detector whose boxes are "
                         "measured (default: %(default)s)")
    framing.add_argument("--output", metavar="JSON", help="also write the numbers to this JSON file")
    framing.set_defaults(command=_framing)

    ship = commands.add_parser("ship", help="ship a finished run's best model inside fer_lib with its model card; "
                               "several runs ship as one file that averages them")
    data_options(ship)
    ship.add_argument("--run-dir", required=True, nargs="+", metavar="RUN_DIR",
                      help="a finished run folder, e.g. runs/strong_cpu; several: their best epochs averaged")
    ship.add_argument("--name", required=True, help="the shipped model's name, e.g. strong_cnn")
    ship.add_argument("--models-dir", help="where it goes (default: fer_lib/models, FER2013 runs only)")
    ship.add_argument("--denoise", type=_non_negative, default=0.0, metavar="STRENGTH", help="denoise each dark face "
                      "first, at STRENGTH x its own noise (fer_lib.inference.denoised; the shipped ferplus_cnn: 0.8, "
                      "robust_cnn: 1.0; default: %(default)s, none; a run trained with --denoise ships with its own)")
    ship.set_defaults(command=_ship)

    serve = commands.add_parser("serve", help="a web page that reads a webcam's faces live, and dropped photos and "
                                "videos (needs fer_lib[web])")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: %(default)s, this "
                       "machine only; 0.0.0.0 opens the page to the network)")
    serve.add_argument("--port", type=_port, default=8000, help="default: %(default)s")
    serve.add_argument("--model", help=MODEL_HELP)
    serve.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR, help="default: %(default)s")
    runtime_option(serve, default="litert")
    serve.add_argument("--max-upload-mb", type=_positive, default=200, help="the largest photo or video the page may "
                       "send, in MB (default: %(default)s)")
    serve.set_defaults(command=_serve)

    report = commands.add_parser("report", help="a run's results as the Markdown table the README shows")
    report.add_argument("metrics", help="a run's metrics.json")
    report.set_defaults(command=_report)
    for command in commands.choices.values():
        command.add_argument("--verbose", action="store_true", help="also show the libraries' own logs (TensorFlow, "
                             "absl, LiteRT), hidden by default")
    return parser


def test_time_options(parser: argparse.ArgumentParser) -> None:
    """--denoise, --blur, --corners and --flip: the test-time options put in front of --model (see _with_test_time)."""
    parser.add_argument("--denoise", type=_non_negative, default=0.0, metavar="STRENGTH", help="test time: denoise "
                        "each dark face first, at STRENGTH x its own noise (default: %(default)s, none; the shipped "
                        "ferplus_cnn and robust_cnn already do, see their cards)")
    parser.add_argument("--blur", type=_non_negative, default=0.0, metavar="SIGMA", help="test time: blur each face "
                        "with a Gaussian of SIGMA pixels first (default: %(default)s, none; the shipped models already blur, see their cards)")
    parser.add_argument("--corners", type=int, default=0, metavar="PIXELS", help="test time: average with the "
                        "predictions on the face moved PIXELS towards each corner (default: %(default)s, none)")
    parser.add_argument("--flip", action="store_true", help="test time: average with the prediction on the mirrored face")


def runtime_option(parser: argparse.ArgumentParser, default: str = "keras") -> None:
    """--runtime: "litert" where faces are read one frame at a time (predict, serve: about 1.7x Keras' speed for
    one face, the same probabilities to 0.001), "keras" where they are measured in batches (evaluate, robustness)."""
    parser.add_argument("--runtime", choices=RUNTIMES, default=default, help="what runs the classifier: keras; litert "
                        "or openvino (bfloat16 where the CPU has it), from the model's TensorFlow Lite export, made on "
                        "first use into the cache (default: %(default)s)")


def _with_test_time(model, args):
    """`model` behind the test-time options that `args` asks for (test_time_options), compiled for --runtime where
    the command has it, and the test-time options' label."""
    from .inference import inference_label, inference_model
    from .runtimes import compile_model

    if args.blur or args.flip or args.corners or args.denoise:
        model = inference_model(model, args.flip, args.blur, args.corners, args.denoise)
    label = inference_label(args.flip, args.blur, args.corners, args.denoise)
    return compile_model(model, getattr(args, "runtime", "keras")), label


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _camera(text: str):
    from .cameras import camera

    try:
        return camera(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix(f"--camera {text!r}: ")) from None


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def _model(spec: str | None):
    """The model that --model names (pretrained.load_model), uncompiled."""
    from .pretrained import load_model

    return load_model(spec)


def _models(specs: list[str] | None):
    """The model that a --model of several names gives: one, or their ensemble (inference.averaged); and its name."""
    from .inference import averaged

    specs = specs or [None]
    return averaged([_model(spec) for spec in specs]), " + ".join(map(_model_name, specs))


def _runtime_label(model) -> str:
    """"keras", or e.g. "openvino (bfloat16)"."""
    return f"{model.runtime} ({model.precision})" if hasattr(model, "runtime") else "keras"


def _note_labels(args) -> None:
    """A note where shipped models taught FER+'s votes are scored against FER2013's labels, which they did not learn."""
    from .shipping import shipped_targets

    taught_votes = [spec for spec in args.model or [None] if shipped_targets(spec) == "ferplus"]
    if args.labels == "fer2013" and taught_votes:
        print(f"note: {', '.join(map(_model_name, taught_votes))} learned FER+'s votes, not FER2013's labels: "
              "--labels ferplus scores against the annotators' majority")


def _model_name(spec: str | None) -> str:
    from .pretrained import DEFAULT

    return spec or DEFAULT


def _load(args) -> FERDataset:
    return load_fer2013(args.data, strict=not args.skip_bad_rows, ferplus=getattr(args, "ferplus", None))


def _info(args) -> int:
    dataset = _load(args)
    print(f"source: {dataset.source}{'  (DEMO dataset, not FER2013)' if dataset.is_demo else ''}")
    counts = dataset.class_counts()
    counts["total"] = counts.sum(axis=1)
    print(counts.to_string())
    stats = dataset.pixel_statistics()
    print(f"pixels: mean {stats['mean']:.1f}, standard deviation {stats['std']:.1f}; per face: mean spread "
          f"{stats['face_mean_spread']:.1f}, contrast {stats['face_std']:.1f}, histogram's distance from flat "
          f"{stats['flatness']:.2f} (median of {stats['faces']:,} faces)")
    if stats["equalized"]:
        print("note: these faces look histogram-equalized one by one (nearly flat histograms; Kaggle's FER2013 has a "
              "median distance of 0.25). The shipped models were trained on the original pixels and read equalized "
              "faces worse: use Kaggle's fer2013.csv where you can.")
    ferplus = "FER+ votes attached (evaluate --labels ferplus)" if dataset.votes is not None else "no FER+ votes"
    print(f"labels: FER2013's; {ferplus}")
    return 0


def _train(args) -> int:
    from .recipes import build_recipe
    from .training import distribution_strategy, set_seed, train, with_targets

    dataset = _load(args)
    splits = dataset.split()
    splits = Splits(with_targets(splits.train.head(args.train_limit), args.targets or "fer2013"), splits.validation,
                    splits.test)
    for name, subset in vars(splits).items():
        if len(subset) == 0:
            raise DataError(f"{dataset.source}: the {name} split ({SPLIT_NAMES[name]} rows) is empty")
    settings = {key: getattr(args, key) for key in ("epochs", "batch_size", "learning_rate", "precision", "seed",
                                                    "dropout", "erasing", "crop", "interpolation", "conditions",
                                                    "contrast_normalization", "conditioned_share", "focus",
                                                    "focus_weight", "pipeline_share",
                                                    "pipeline_conditions", "targets", "teacher",
                                                    "teacher_weight", "denoise")}
    set_seed(args.seed)  # before building: the initial weights come from the seed too
    strategy = distribution_strategy()
    with strategy.scope() if strategy else contextlib.nullcontext():
        config, model, augment = build_recipe(args.model, splits.train.x, args.parent, **settings)
    train(model, splits.train, splits.validation, args.run_dir, config, overwrite=args.overwrite, augment=augment,
          verbose=2)
    metrics = write_run_metrics(args.run_dir, dataset, splits, config)
    print(summary(metrics))
    return 0


def _notebooks(args) -> int:
    from .loading import DEMO, DEMO_NOTICE, relative_to_project
    from .series import NotebookFailed, run_series, uses_demo

    # The kernels run in notebooks/: hand them absolute paths, or paths relative to the project (see project_path).
    run_dir = Path(args.run_dir).resolve()
    data = args.data if args.data in (None, DEMO) else str(Path(args.data).expanduser().resolve())
    parameters = {"DATA": data, "RUN_DIR": str(relative_to_project(run_dir)), "EPOCHS": args.epochs,
                  "SEED": args.seed, "ROW_LIMIT": args.row_limit, "OVERWRITE": args.overwrite,
                  "SHOW_FACES": not args.hide_faces}
    notice = None
    if uses_demo(data):
        notice = DEMO_NOTICE if data is None else "fer_lib: --data demo -> the synthetic DEMO dataset; results are NOT FER2013's."
        print(notice, file=sys.stderr, flush=True)
    try:
        done = run_series(args.output or run_dir / "notebooks", parameters, only=args.only)
    except NotebookFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"executed {len(done)} notebooks into {done[0].parent}")
    if (run_dir / METRICS_FILE).is_file():
        print(summary(json.loads((run_dir / METRICS_FILE).read_text())))
    if notice:
        print(notice, file=sys.stderr)
    return 0


def _report(args) -> int:
    print(markdown_report(json.loads(Path(args.metrics).read_text())))
    return 0


def _evaluate(args) -> int:
    from .evaluation import evaluate

    ensemble, name = _models(args.model)
    model, test_time = _with_test_time(ensemble, args)
    dataset = _load(args)
    subset = dataset.subset(SPLIT_NAMES[args.split])
    if len(subset) == 0:
        raise DataError(f"{dataset.source}: no {SPLIT_NAMES[args.split]} rows to evaluate on")
    result = evaluate(model, subset, args.labels)
    labels = "FER2013's labels" if args.labels == "fer2013" else "the FER+ vote majority"
    _note_labels(args)
    print(f"{SPLIT_NAMES[args.split]} ({result.per_class['support'].sum()} faces{', DEMO dataset' if dataset.is_demo else ''}, "
          f"test time: {test_time}, runtime: {_runtime_label(model)}): accuracy {result.accuracy:.4f} against {labels}")
    print(result.per_class.round(4).to_string())
    if args.output:
        Path(args.output).write_text(json.dumps({"model": name, "source": dataset.source,
                                                 "is_demo": dataset.is_demo, "usage": SPLIT_NAMES[args.split], "labels": args.labels,
                                                 "test_time": test_time, "runtime": _runtime_label(model)}
                                                | result.to_dict(), indent=2) + "\n")
    return 0


def _predict(args) -> int:
    from .predict import predict

    if not args.paths and args.camera is None:
        raise ValueError("nothing to read: give image/video paths or folders, or --camera N|URL")
    common = dict(annotate=not args.no_annotate, video_detect_side=args.video_detect_side, detector=args.detector,
                  runtime=args.runtime, parquet=args.parquet, overwrite=args.overwrite, resume=args.resume)
    if args.ray:
        if args.camera is not None:
            raise ValueError("--camera cannot be read on Ray: a camera is on this machine; leave out --ray")
        from .distributed import predict_on_ray

        outcome = predict_on_ray(args.paths, args.model, args.output, address=None if args.ray is True else args.ray,
                                 fps=args.fps, **common)
    else:
        outcome = predict(args.paths, args.model, args.output, fps=args.fps, camera=args.camera,
                          camera_seconds=args.seconds, **common)
    print(f"{outcome.items} item(s), {len(outcome.rows)} face(s), {len(outcome.failures)} failed; "
          f"written to {Path(args.output) / 'predictions.csv'}" + (", .json and .parquet" if args.parquet else " and .json"))
    for item, reason in outcome.failures:
        print(f"failed: {item}: {reason}", file=sys.stderr)
    return 1 if outcome.failures else 0


def _serve(args) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ImportError('serve needs the web extra: pip install "fer_lib[web]" (Starlette and uvicorn)') from None
    from .serve import serve

    try:
        serve(args.host, args.port, args.model, args.detector, max_upload_bytes=int(args.max_upload_mb * (1 << 20)),
              runtime=args.runtime)
    except OSError as error:  # the port is taken, the host is not this machine's
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {text}")
    return value


def _framing(args) -> int:
    from dataclasses import asdict

    from .detectors import face_detector
    from .detectors.haar import HaarCascade, measure_eyes
    from .framing import framing_relations, framing_spread, measure_framing

    dataset = _load(args)
    faces = dataset.subset("Training").x[: args.faces]
    detector = HaarCascade(min_fraction=0.3) if args.detector == "haar" else face_detector(args.detector)
    relations = framing_relations(faces, detector)
    framing = measure_framing(faces, relations)
    numbers = asdict(framing) | {
        "detector": args.detector, "spread": framing_spread(relations, framing), "eyes": asdict(measure_eyes(faces)),
        "source": dataset.source, "is_demo": dataset.is_demo}
    print(json.dumps(numbers, indent=2))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


def _export(args) -> int:
    from .export import CALIBRATION_FACES, checks, compare, export, write_report

    model = _model(args.model)
    dataset = _load(args)
    splits = dataset.split()
    if len(splits.train) == 0 or len(splits.test) == 0:
        raise DataError(f"{dataset.source}: export needs Training rows (calibration) and PublicTest rows (the check)")
    if dataset.is_demo:
        print("warning: no FER2013, so the exports' accuracy cannot be checked on real faces: int8 is calibrated on "
              "the DEMO dataset's synthetic faces, and each export is compared with the Keras model on them instead",
              file=sys.stderr)
    paths = export(model, args.output, splits.train.x[:CALIBRATION_FACES])
    numbers = compare(model, paths, splits.test) | {"model": _model_name(args.model), "source": dataset.source,
                                                    "is_demo": dataset.is_demo, "usage": "PublicTest"}
    numbers["checks"] = checks(numbers, dataset.is_demo)
    report = write_report(numbers, args.output)
    print(f"PublicTest ({numbers['faces']} faces{', DEMO dataset' if dataset.is_demo else ''}): "
          f"Keras {numbers['keras']['accuracy']:.4f}")
    for name, path in paths.items():
        row = numbers[name]
        print(f"  {name:15s} {row['accuracy']:.4f} ({row['difference'] * 100:+.2f} points, agrees on "
              f"{row['agreement_with_keras']:.1%}), {row['bytes'] / 1e6:.2f} MB  {path}")
    for check in numbers["checks"]:
        verdict = {True: "passed", False: "FAILED", None: "not checked"}[check["passed"]]
        print(f"  {check['export']:15s} {verdict}: {check['check']}")
    print(f"written: {report}")
    failed = [check for check in numbers["checks"] if check["passed"] is False]
    for check in failed:
        print(f"error: {check['export']} fails its check: {check['check']}", file=sys.stderr)
    return 1 if failed else 0


def _robustness(args) -> int:
    from .conditions import CONDITIONS, HELD_OUT
    from .robustness import accuracy_grid, benchmark, to_dict

    unknown = sorted(set(args.conditions or ()) - set(CONDITIONS | HELD_OUT))
    if unknown:
        raise ValueError(f"unknown condition(s) {', '.join(unknown)}; choose from {', '.join(CONDITIONS | HELD_OUT)}")
    ensemble, name = _models(args.model)
    model, test_time = _with_test_time(ensemble, args)
    dataset = _load(args)
    test = dataset.subset("PublicTest").head(args.rows)
    if args.labels == "ferplus":  # the faces with a FER+ majority among the seven, labelled by it
        from .evaluation import labelled

        test = labelled(test, "ferplus")
    if len(test) == 0:
        raise DataError(f"{dataset.source}: no PublicTest rows to measure on")
    conditions, severities = tuple(args.conditions or CONDITIONS), tuple(sorted(set(args.severities)))
    background = _background(args.background) if args.detectors else None  # a bad image fails before the long run
    table = benchmark(model, test, conditions=conditions, severities=severities, seed=args.seed)
    numbers = to_dict(table) | {"model": name, "source": dataset.source, "is_demo": dataset.is_demo,
                                "usage": "PublicTest", "labels": args.labels, "faces": len(test), "seed": args.seed,
                                "test_time": test_time,
                                "runtime": _runtime_label(model)}
    demo = ", DEMO dataset" if dataset.is_demo else ""
    print(f"PublicTest accuracy against {args.labels}'s labels ({len(test)} faces{demo}, test time: {test_time}, "
          f"runtime: {_runtime_label(model)}) by condition and severity (0: clean)")
    print(accuracy_grid(table).round(4).to_string())
    print(f"mean over all conditions and severities: {numbers['summary']['mean_accuracy']:.4f} "
          f"(clean {numbers['summary']['clean_accuracy']:.4f})")
    _note_labels(args)
    if args.detectors:
        from .detectors import face_detector
        from .robustness import end_to_end, false_faces, false_faces_in_photos

        detectors = {name: face_detector(name) for name in dict.fromkeys(args.detectors)}
        sizes = tuple(dict.fromkeys(args.sizes))
        rows = end_to_end(model, test, detectors, background, conditions, (0, *severities), sizes, args.seed)
        false = false_faces(detectors, background, len(test), sizes, args.seed)
        in_photos = false_faces_in_photos(detectors, args.face_free_frames, args.seed)
        numbers["end_to_end"] = {"rows": rows.to_dict(orient="records"), "false_faces": false.to_dict(orient="records"),
                                 "false_faces_photos": in_photos, "background": args.background or "skimage.data.rocket"}
        print("end to end: share of faces found, and accuracy with a face not found counted wrong "
              "(crop_accuracy: the same faces cut out)")
        print(rows.set_index(["condition", "severity", "face_size", "detector"]).round(4).to_string())
        print("frames without a face in which a face was reported:")
        print(false.set_index(["face_size", "detector"]).round(4).to_string())
        print("real 640x480 frames without a face (robustness.face_free_frames) in which a face was reported:")
        print("  " + ", ".join(f"{name} {share:.1%}" for name, share in in_photos.items()))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(numbers, indent=2) + "\n")
        print(f"written: {args.output}")
    return 0


def _background(path: str | None):
    """The grayscale photograph that end-to-end frames are cut from: `path`, or scikit-image's rocket."""
    from .images import to_gray
    from .predict import read_image

    if path is None:
        try:
            from skimage import data
        except ImportError:
            raise ImportError("--detectors places faces into scikit-image's rocket photograph: pip install "
                              "scikit-image (or fer_lib[notebooks]), or pass --background IMAGE") from None
        return to_gray(data.rocket())
    try:
        return to_gray(read_image(path))
    except ValueError as error:
        raise ValueError(f"--background {path}: {error}") from None


def _ship(args) -> int:
    from .pretrained import MODELS_DIR
    from .shipping import ship

    dataset = _load(args)
    card = ship(args.run_dir, dataset, args.name, args.models_dir or MODELS_DIR, args.denoise)
    print(f"shipped {card['file']} ({card['bytes'] / 1e6:.1f} MB, test time: {card['test_time']['chosen']}): "
          f"PublicTest {card['test']['accuracy']:.4f}, PrivateTest {card['validation_accuracy']:.4f}"
          f"{', DEMO dataset' if dataset.is_demo else ''}")
    print(f"written: {Path(args.models_dir or MODELS_DIR) / args.name}.keras, .json and .md")
    return 0

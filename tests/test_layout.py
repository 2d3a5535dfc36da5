"""The code's shape: dependencies run one way, no import cycles, short modules, each flag defined once."""
import ast
import os
import re
import subprocess
import sys

from tests.conftest import ROOT

PACKAGES = ('kobert_base', 'kobert_news', 'kobert_gluon', 'preprocess')
# Lower layers never import higher ones (function-level imports included).
# The engines (the Gluon predictor, ONNX Runtime) sit below the pipeline, which runs over either;
# the explanations run over an engine too, for the front ends.
LAYERS = [('kobert_base',), ('preprocess',),
          ('kobert_gluon', 'kobert_news.engines'), ('kobert_news.pipeline', 'kobert_news.output_csv'),
          ('kobert_news.explain',),
          ('kobert_news.reports', 'kobert_news.api', 'kobert_news.serving'), ('kobert_news.cli', 'kobert_news'),
          ('<root>',)]
MAX_LINES = 300


def _modules():
    out = {}
    for pkg in PACKAGES:
        for folder, _, names in os.walk(os.path.join(ROOT, pkg)):
            for n in names:
                if n.endswith('.py'):
                    rel = os.path.relpath(os.path.join(folder, n), ROOT)[:-3].replace(os.sep, '.')
                    out[rel[:-len('.__init__')] if rel.endswith('.__init__') else rel] = os.path.join(folder, n)
    for n in os.listdir(ROOT):
        if n.endswith('.py') and n != 'setup.py':
            out['<root>.' + n[:-3]] = os.path.join(ROOT, n)
    return out


def _imports(path, modules):
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + ['%s.%s' % (node.module, a.name) for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition('.')[0]
            if name:
                found.add(name)
    return found


def _layer(module):
    best = None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + '.'):
                if best is None or len(p) > best[1]:
                    best = (i, len(p))
    return best[0]


def test_dependencies_run_one_way_without_cycles():
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    upward = ['%s -> %s' % (m, d) for m, deps in graph.items() for d in deps if _layer(d) > _layer(m)]
    assert not upward, upward
    # No cycle, lazy imports included (depth-first search for a back edge).
    state, cycles = {}, []

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(' -> '.join(path[path.index(d):] + [d]) if d in path else d)
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2
    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_the_ground_is_a_package_of_its_own():
    """kobert_base (topics, modes, errors, paths, flags, options) imports no other part of the project,
    and each package imports only its own layer and the ones below: no arrow runs from a lower package
    to a higher one, as it did while the ground lived inside kobert_news."""
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    ground = {m: sorted(d for d in deps if not d.startswith('kobert_base')) for m, deps in graph.items()
              if m.startswith('kobert_base')}
    assert ground and not any(ground.values()), ground
    order = ['kobert_base', 'preprocess', 'kobert_gluon', 'kobert_news']
    package = lambda m: m.split('.')[0]
    upward = ['%s -> %s' % (m, d) for m, deps in graph.items() if not m.startswith('<root>') for d in deps
              if order.index(package(d)) > order.index(package(m))]
    assert not upward, upward


def test_the_library_imports_no_root_script():
    """kobert_news, kobert_gluon and preprocess never import the checkout's root scripts (config,
    main, ...): an installed package has none of them."""
    roots = {n[:-3] for n in os.listdir(ROOT) if n.endswith('.py')}
    bad = []
    for m, path in _modules().items():
        if m.startswith('<root>'):
            continue
        for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            bad += ['%s imports %s' % (m, n) for n in names if n.split('.')[0] in roots]
    assert not bad, bad


def test_no_module_is_long():
    long = {m: n for m, p in _modules().items() for n in [sum(1 for _ in open(p, encoding='utf-8'))] if n > MAX_LINES}
    assert not long, long


def test_each_flag_is_defined_once():
    """Options are dataclass fields made with flag(); no parser is built by hand anywhere else."""
    seen = {}
    for m, path in _modules().items():
        text = open(path, encoding='utf-8').read()
        if 'add_argument(' in text:
            # torch_worker runs under the second environment's Python as hf.py's worker: not a user's command.
            assert m in ('kobert_news.cli.common', 'kobert_gluon.export.torch_worker'), '%s builds its own parser' % m
        for name in re.findall(r'^    (\w+): \w+ = flag\(', text, re.M):
            seen.setdefault(name, []).append(m)
    twice = {n: ms for n, ms in seen.items() if len(ms) > 1}
    assert not twice, twice
    assert {'mode', 'encoding', 'cache_dir', 'calib_path', 'gluon_weight_path', 'data_path'} <= set(seen)


def test_a_shared_flag_name_shows_each_command_its_own_choices():
    """--format means html/json to kobert-news explain and csv/parquet to kobert-news spark: each command's --help
    and checks give its own choices only (the class's FLAGS narrows the shared field)."""
    from kobert_news.cli.common import build_parser
    from kobert_news.cli.explain import ExplainOptions
    from kobert_news.cli.spark_predict import SparkArgs
    from kobert_base.errors import UserError
    for cls, mine, other in ((ExplainOptions, 'html', 'parquet'), (SparkArgs, 'parquet', 'html')):
        line = next(l for l in build_parser('', cls).format_help().splitlines() if l.strip().startswith('--format'))
        assert mine in line and other not in line, line
        try:
            cls(format=other)
        except UserError as e:
            assert str(e).startswith('--format must be one of') and mine in str(e), e
        else:
            raise AssertionError('%s accepted --format %s' % (cls.__name__, other))


def test_predicting_from_texts_loads_no_pandas():
    """The predictor and the per-mode texts need neither pandas nor preprocess.dataset: they are loaded
    where a CSV is read, so a process that predicts from texts is 50 MB smaller; the lazy names still
    import."""
    code = ('import sys; sys.path.insert(0, %r)\n'
            'import kobert_gluon.predictor\n'
            'from preprocess import NewsProcessor, with_cluster\n'
            'print("pandas" in sys.modules, "preprocess.dataset" in sys.modules)\n'
            'from preprocess import load_data, fold_indices\n'
            'print("pandas" in sys.modules, load_data.__module__)' % ROOT)
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ['False', 'False', 'True', 'preprocess.dataset']


def test_the_pipeline_and_the_onnx_engine_load_no_mxnet():
    """The deploy path has no MXNet: the pipeline, the ONNX Runtime engine and the explanations by
    occlusion import none of the Gluon stack (the Gluon predictor is imported only when a weight file is used)."""
    code = ('import sys; sys.path.insert(0, %r)\n'
            'import kobert_news.pipeline, kobert_news.engines.onnx, kobert_base.export_folder, kobert_news.api\n'
            'import kobert_news.explain, kobert_news.explain.occlusion, kobert_news.cli.explain\n'
            'print(sorted(m for m in ("mxnet", "gluonnlp", "torch", "kobert_gluon.predictor") if m in sys.modules))'
            % ROOT)
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]'

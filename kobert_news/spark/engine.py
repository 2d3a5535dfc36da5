"""Spark itself: Java, the session, the output folder and Spark's errors."""
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import warnings

from kobert_base.errors import UserError

log = logging.getLogger('kobert_news.spark')
JAVA_VERSIONS = (17, 21)  # the Java releases Spark 4 runs on
# What Spark's committers leave in an output folder; a folder with anything else is not a Spark output.
SPARK_FILES = re.compile(r'^(part-.*|_SUCCESS|_temporary|_committed_.*|_started_.*|\..*\.crc)$')


def check_pyspark():
    """pyspark, or a UserError saying where the job runs (the deploy path, not the Gluon stack's Python 3.7)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as e:
        raise UserError('the Spark job needs pyspark (%s): run it in the deploy environment (make deploy-env, or '
                        'pip install ".[spark]" on Python 3.10-3.13)' % e)


@functools.lru_cache(maxsize=None)
def check_java():
    """The major version of the Java that Spark will start, or a UserError saying how to get one."""
    home = os.environ.get('JAVA_HOME')
    java = os.path.join(home, 'bin', 'java') if home else shutil.which('java')
    if not java or not os.access(java, os.X_OK):
        where = '$JAVA_HOME/bin/java is missing' if home else 'no java on PATH, and JAVA_HOME is not set'
        raise UserError('Spark needs Java 17 or 21, and none was found (%s): install one, e.g. apt-get install '
                        'openjdk-17-jre-headless' % where)
    try:
        out = subprocess.run([java, '-version'], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError('%s -version failed (%s): Spark needs a working Java 17 or 21' % (java, e))
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = (int(found.group(2) or 0) if found.group(1) == '1' else int(found.group(1))) if found else None
    if major is not None and major < JAVA_VERSIONS[0]:
        raise UserError('%s is Java %d; Spark needs Java 17 or 21: install one, e.g. apt-get install '
                        'openjdk-17-jre-headless, and point JAVA_HOME at it' % (java, major))
    if major not in JAVA_VERSIONS:
        log.warning('Spark runs on Java 17 and 21; %s is %s', java, 'Java %s' % major if major else out.strip())
    return major


def starts_jvm():
    """Whether a session made here starts a JVM: not under spark-submit, nor beside a running session."""
    from pyspark import SparkContext
    return 'PYSPARK_GATEWAY_PORT' not in os.environ and SparkContext._active_spark_context is None


def session(master=None, app='kobert-news'):
    """A SparkSession: the running one; under spark-submit, one with its master and settings;
    otherwise a JVM started here (Java checked first) with --master (default local[*]), this Python
    for the workers and, in local mode, every socket on 127.0.0.1."""
    from pyspark.sql import SparkSession
    # pyspark 4.3 warns about pandas 3 on every mapInPandas; this job's columns (strings, doubles,
    # longs) go through Arrow as they should with it (tests/deploy/test_spark.py checks every value).
    warnings.filterwarnings('ignore', message='PySpark does not yet fully support pandas', category=FutureWarning)
    builder = SparkSession.builder.appName(app).config('spark.ui.showConsoleProgress', 'true')
    if starts_jvm():
        check_java()
        master = master or 'local[*]'
        if master.startswith('local'):
            os.environ.setdefault('PYSPARK_PYTHON', sys.executable)
            os.environ.setdefault('SPARK_LOCAL_IP', '127.0.0.1')
        log4j = '-Dlog4j2.configurationFile=file:' + os.path.join(os.path.dirname(__file__), 'log4j2.properties')
        builder = builder.config('spark.driver.extraJavaOptions', log4j)
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel('WARN')
    # One task, one core: numpy's threads in each Python worker (ONNX Runtime's are set per session;
    # spark.executorEnv.OMP_NUM_THREADS wins; in local mode the workers would otherwise use all cores each).
    sc.environment.setdefault('OMP_NUM_THREADS', sc.getConf().get('spark.task.cpus', '1'))
    return spark


def _fs(spark, path):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def _beside(fs, out, what):
    """The job's own folder beside the output: .<name>.<what> (hidden, so that globs over the parent skip it)."""
    return fs.makeQualified(out).getParent().suffix('/.%s.%s' % (out.getName(), what))


def _only_spark_files(fs, p, path):
    """The names in folder p, after checking that they are all Spark's (else a UserError)."""
    if not fs.getFileStatus(p).isDirectory():
        raise UserError('%s is a file: give a folder (Spark writes part files into it)' % path)
    names = [s.getPath().getName() for s in fs.listStatus(p)]
    foreign = sorted(n for n in names if not SPARK_FILES.match(n))
    if foreign:
        raise UserError('%s holds files that are not a Spark output (%s): choose another folder'
                        % (path, ', '.join(foreign[:5])))
    return names


class Output:
    """The output folder and the job's own folders beside it: the job writes into .<name>.incomplete
    and, once Spark has committed every task there, publish() swaps it in. The finished output
    stays whole until then, whatever happens to the job."""

    def __init__(self, spark, path, overwrite=False):
        """Checks the output folder (on any file system Hadoop reaches):
        - missing or empty: written;
        - a finished Spark output (_SUCCESS): replaced only with --overwrite;
        - an unfinished one (only Spark's files, no _SUCCESS): replaced;
        - a file, or a folder holding anything else: refused, even with --overwrite.
        A job killed between publish's two renames is completed here first."""
        from kobert_news.spark.inputs import local_path
        self.path = path
        local = local_path(path)  # a link to a folder stays a link: the folder it names is replaced
        self.fs, p = _fs(spark, os.path.realpath(local) if local else path)
        self.out = self.fs.makeQualified(p)
        self.staging, self.replaced = _beside(self.fs, self.out, 'incomplete'), _beside(self.fs, self.out, 'replaced')
        fs = self.fs
        if fs.exists(self.replaced):
            _only_spark_files(fs, self.replaced, self.replaced.toString())
            if fs.exists(self.out):  # the new output was in place: the old one's removal was left
                fs.delete(self.replaced, True)
            else:
                log.warning('%s was moved aside by a job stopped while replacing it: putting it back', path)
                self._rename(self.replaced, self.out)
        if fs.exists(self.out):
            names = _only_spark_files(fs, self.out, '--output %s' % path)
            if '_SUCCESS' in names and not overwrite:
                raise UserError('--output %s holds a finished output: pass --overwrite to replace it' % path)
        self.mode = 'errorifexists'
        if fs.exists(self.staging):
            _only_spark_files(fs, self.staging, self.staging.toString())
            log.warning('%s holds an interrupted job\'s output: writing it again', self.staging.toString())
            self.mode = 'overwrite'

    def _rename(self, src, dst):
        if not self.fs.rename(src, dst):
            raise UserError('could not move %s to %s' % (src.toString(), dst.toString()))

    def publish(self, extension=None):
        """The staging folder becomes the output: its part files renamed to end in `extension`, then
        the old output (if any) moved aside, the new one moved in, and the old one removed."""
        fs = self.fs
        if extension:
            for status in fs.listStatus(self.staging):
                name = status.getPath().getName()
                if name.startswith('part-') and not name.endswith(extension):
                    stem = name.rsplit('.', 1)[0] if '.' in name else name
                    self._rename(status.getPath(), self.staging.suffix('/' + stem + extension))
        if not fs.exists(self.out):
            self._rename(self.staging, self.out)
            return
        self._rename(self.out, self.replaced)
        try:
            self._rename(self.staging, self.out)
        except BaseException:
            self._rename(self.replaced, self.out)
            raise
        fs.delete(self.replaced, True)

    def discard(self):
        self.fs.delete(self.staging, True)


def part_files(spark, path):
    fs, p = _fs(spark, path)
    return sorted(s.getPath().getName() for s in fs.listStatus(p) if s.getPath().getName().startswith('part-'))


def user_error(e):
    """A UserError for a failure Spark reports: a worker's UserError keeps its own message,
    anything else is its first line."""
    text = str(e)
    found = re.findall(r'kobert_news\.config\.UserError: (.*)', text)
    if found:
        return UserError(found[-1].strip())
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith('at ')]
    return UserError('Spark: %s' % (lines[0] if lines else type(e).__name__))


def spark_errors():
    """The exception classes through which Spark reports failures."""
    from py4j.protocol import Py4JError
    from pyspark.sql.utils import CapturedException
    return CapturedException, Py4JError

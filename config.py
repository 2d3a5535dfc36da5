"""The project's definitions, for scripts and notebooks in a checkout: they live in the kobert_base
package (topics, modes, architectures, errors, paths, and every command-line option with its help
and range in kobert_base.options)."""
from kobert_base.architectures import *  # noqa: F401,F403
from kobert_base.errors import *  # noqa: F401,F403
from kobert_base.explanations import *  # noqa: F401,F403
from kobert_base.modes import *  # noqa: F401,F403
from kobert_base.options import *  # noqa: F401,F403
from kobert_base.paths import *  # noqa: F401,F403
from kobert_base.topics import *  # noqa: F401,F403

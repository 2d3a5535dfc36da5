"""KoBERT's pretrained body from GluonNLP 0.10's model zoo (train.py --pretrained gluonnlp).

GluonNLP 0.10 registers the dataset 'kobert_news_wiki_ko_cased' for bert_12_768_12: the body's
SHA-1 in gluonnlp/model/bert.py (ccf0593e...) and its vocabulary's in gluonnlp/data/utils.py
(f86b1a83..., a sentencepiece .spiece). get_model downloads both from the repository that
$MXNET_GLUON_REPO names (default: Apache's S3 bucket), as
{repo}gluon/models/bert_12_768_12_kobert_news_wiki_ko_cased-ccf0593e.zip and
{repo}gluon/dataset/vocab/kobert_news_wiki_ko_cased-f86b1a83.zip, into $MXNET_HOME/models
(~/.mxnet/models), and keeps a file only when its SHA-1 is the registered one.
"""
import os

from kobert_base.errors import UserError

MODEL = 'bert_12_768_12'
DATASET = 'kobert_news_wiki_ko_cased'


def zoo_body(tokenizer, root=None):
    """Path of the zoo's params file (downloaded, or found with the right SHA-1), after checking
    that the zoo's vocabulary maps tokens to the same ids as the tokenizer's."""
    import gluonnlp as nlp
    import mxnet as mx
    from mxnet.gluon.model_zoo import model_store

    from kobert_gluon.tokenizer import tokens_md5

    root = root or os.path.join(nlp.base.get_home_dir(), 'models')
    repo = os.environ.get('MXNET_GLUON_REPO', model_store.apache_repo_url)
    try:
        _, vocab = nlp.model.get_model(MODEL, dataset_name=DATASET, pretrained=True, use_pooler=True,
                                       use_decoder=False, use_classifier=False, root=root)
        path = model_store.get_model_file('%s_%s' % (MODEL, DATASET), root=root)
    except (OSError, ValueError, AssertionError, mx.base.MXNetError) as e:
        # the download raises requests' errors (OSError), a wrong SHA-1 ValueError
        raise UserError('cannot get %s %s from the GluonNLP model zoo at %s (%s)'
                        % (MODEL, DATASET, repo, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__))
    if tokens_md5(vocab) != tokens_md5(tokenizer.vocab):
        raise UserError("the model zoo's %s vocabulary maps tokens to other ids than KoBERT's vocabulary here (%s); "
                        "its body would read the wrong embeddings: use KoBERT's .spiece file as the vocabulary"
                        % (DATASET, '+'.join(tokenizer.names)))
    return path

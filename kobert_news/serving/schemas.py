"""What the HTTP API reads and answers (pydantic models: validation and the OpenAPI schema)."""
from typing import Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import Literal

from kobert_base.explanations import EXPLAIN_MAX_STEPS, EXPLAIN_STEPS
from kobert_base.topics import TOPICS

STRICT = ConfigDict(extra='forbid', strict=True)  # "3" is not a number, an unknown key is a typo


class Article(BaseModel):
    model_config = ConfigDict(extra='forbid', strict=True,
                              json_schema_extra={'example': {'title': '손흥민 시즌 10호골',
                                                             'body': '토트넘 손흥민이 시즌 10호골을 터뜨렸다.'}})
    title: Optional[str] = Field(None, description='the headline (CSV column title)')
    body: Optional[str] = Field(None, description='the article text (CSV column cleanBody)')


class PredictRequest(BaseModel):
    model_config = STRICT
    articles: List[Article] = Field(..., min_length=1, description='classified together, answered in this order')
    top_k: Optional[int] = Field(None, ge=1, le=len(TOPICS),
                                 description="how many topics to list per article (default: the server's --top_k, 1)")


class TopicProbability(BaseModel):
    topic: str
    probability: float


class ArticleResult(BaseModel):
    topic: Optional[str] = Field(..., description="the most likely topic; null when the article has no text "
                                                  "for the weight's mode")
    probability: Optional[float]
    top_k: List[TopicProbability]
    cluster: Optional[int] = Field(..., description='modes 4 and 5: the cluster the article was placed in')
    reason: Optional[str] = Field(None, description='why topic is null')


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())  # model_file is a field, not pydantic's
    engine: str = Field(..., description='onnx (an export folder on ONNX Runtime) or gluon (a weight file on MXNet)')
    weight: str = Field(..., description='the weight file (its name), or the one the export folder was made from')
    md5: str = Field(..., description="the weight file's md5")
    model_file: Optional[str] = Field(None, description='onnx: the export folder\'s model file run')
    mode: int
    max_len: int
    precision: str
    untrained_topics: List[str] = Field(..., description='topics the weight never saw in training: it cannot '
                                                         'predict them')


class PredictResponse(BaseModel):
    model: ModelInfo
    predictions: List[ArticleResult]


class ExplainRequest(BaseModel):
    model_config = STRICT
    articles: List[Article] = Field(..., min_length=1, description='explained one after another, answered in '
                                                                   'this order (at most --max_explain_articles)')
    target: Optional[Literal[tuple(TOPICS)]] = Field(None, description="the topic to explain (default: each "
                                                                         "article's predicted topic)")
    steps: int = Field(EXPLAIN_STEPS, ge=1, le=EXPLAIN_MAX_STEPS,
                       description="integrated gradients: points on the integration path (at most the server's "
                                   "--max_explain_steps); occlusion takes none")


class ArticleExplanation(BaseModel):
    text: str = Field(..., description="the model's text for the weight's mode")
    topic: Optional[str] = Field(..., description='the most likely topic; null when the article has no text')
    probability: Optional[float]
    target: Optional[str] = Field(..., description='the topic explained')
    probabilities: Optional[Dict[str, float]] = Field(..., description='every topic\'s probability')
    words: List[str] = Field(..., description="the text's whitespace-separated words")
    attributions: List[float] = Field(..., description="each word's share of the target logit's change from "
                                                       "the baseline (0 past max_len)")
    words_read: int = Field(..., description='how many words the model read (the rest are past max_len)')
    logit_change: Optional[float] = Field(None, description='the target logit at the text minus at the baseline')
    completeness_error: Optional[float] = Field(None, description='|sum of attributions - logit_change| / '
                                                                  '|logit_change|')
    method: Optional[str] = Field(None, description='occlusion or integrated_gradients')
    baseline: Optional[str] = Field(None, description='what stood in for a word (occlusion: remove, mask, pad) '
                                                      'or for every word (integrated gradients: pad, mask)')
    reason: Optional[str] = Field(None, description='why topic is null')


class ExplainResponse(BaseModel):
    model: ModelInfo
    method: str = Field(..., description="occlusion (an export folder's) or integrated_gradients (a weight file's)")
    steps: Optional[int] = Field(..., description='integrated gradients: the points on the path; occlusion: null')
    explanations: List[ArticleExplanation]


class Error(BaseModel):
    error: str = Field(..., description='what went wrong, in one line')
    field: Optional[str] = Field(None, description='422: the first field at fault, e.g. articles.0.title')
    errors: Optional[list] = Field(None, description='422: every field at fault, with its message')


FAILURES = {413: {'model': Error}, 422: {'model': Error}, 503: {'model': Error}}  # the routes' error answers

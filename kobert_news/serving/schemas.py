"""What the HTTP API reads and answers (pydantic models: validation and the OpenAPI schema)."""
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field

from kobert_news.config import TOPICS

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
    weight: str
    md5: str
    mode: int
    max_len: int
    precision: str


class PredictResponse(BaseModel):
    model: ModelInfo
    predictions: List[ArticleResult]


class Error(BaseModel):
    error: str = Field(..., description='what went wrong, in one line')
    field: Optional[str] = Field(None, description='422: the first field at fault, e.g. articles.0.title')
    errors: Optional[list] = Field(None, description='422: every field at fault, with its message')

"""The HTTP API (FastAPI): every route needs an API key and sees only that key's experiments.

The key travels as ``Authorization: Bearer KEY`` (or ``X-API-Key: KEY``), never in a URL's query. The
dashboard page itself holds no data and is served to anyone; a browser opens it as ``/#key=KEY`` (the
fragment never leaves the browser) and its script sends the key as a header.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from lmforge.core import LmforgeError

from ..experiment import Experiment, ExperimentBackend
from .dispatcher import Dispatcher
from .predict import LawCache, answer
from .store import DuplicateError, OverBudgetError, Store

# what a caller may change in a run beyond the shape and budget: the optimizer and its schedule, never
# the server's paths, devices or data (``extra`` is merged into the train backend's TrainConfig)
SAFE_EXTRA = frozenset({"optimizer", "schedule"})


class SubmitRequest(BaseModel):
    model: dict[str, int] = Field(description="ModelConfig shape: vocab_size, context_length, d_model, ...")
    flops: float | None = Field(None, gt=0, description="FLOPs to train for (give this or tokens)")
    tokens: float | None = Field(None, gt=0, description="Tokens to train on (give this or flops)")
    batch_size: int = 16
    lr: float = 3e-3
    seed: int = 0
    extra: dict[str, Any] = Field(default_factory=dict, description="optimizer / schedule settings")


class PredictRequest(BaseModel):
    budget: float = Field(gt=0, description="FLOPs budget to predict for")
    model: dict[str, int] | None = Field(None, description="a shape: also predict its loss at this budget")
    method: Literal["parametric", "isoflops"] = "parametric"
    bootstrap: int = Field(100, ge=0, le=2000)
    level: float = Field(0.95, gt=0, lt=1)
    vocab_size: int | None = None
    context_length: int | None = None


def _key_from(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def caller(request: Request) -> dict[str, Any]:
    """The key's record (id, name, budget), or 401."""
    key = _key_from(request)
    who = request.app.state.store.authenticate(key) if key else None
    if who is None:
        raise HTTPException(401, "a valid API key is required (Authorization: Bearer KEY)",
                            headers={"WWW-Authenticate": "Bearer"})
    return who


Caller = Annotated[dict, Depends(caller)]


def create_app(store: Store, backend: ExperimentBackend, dispatcher: Dispatcher | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if dispatcher is not None:
            dispatcher.start()
        yield
        if dispatcher is not None:
            dispatcher.stop()

    app = FastAPI(title="lmforge scaling lab", lifespan=lifespan)
    app.state.store = store
    laws = LawCache()

    @app.post("/submit", status_code=201)
    def submit(body: SubmitRequest, who: Caller) -> dict[str, Any]:
        if (body.flops is None) == (body.tokens is None):
            raise HTTPException(400, "give exactly one of flops and tokens")
        if set(body.extra) - SAFE_EXTRA:
            raise HTTPException(400, f"extra may set only {sorted(SAFE_EXTRA)}, not "
                                     f"{sorted(set(body.extra) - SAFE_EXTRA)}")
        exp = Experiment(model=body.model, flops=body.flops or 1.0, batch_size=body.batch_size, lr=body.lr,
                         seed=body.seed, extra=body.extra)
        try:
            if body.tokens is not None:  # the FLOPs these tokens cost this shape, counted exactly
                try:
                    per_token = backend.flops_per_token(exp)
                except (TypeError, ValueError) as e:  # a shape the model config refuses
                    raise LmforgeError(f"experiment refused: invalid model shape: {e}") from None
                exp = Experiment(**{**exp.canonical(), "flops": body.tokens * per_token})
            backend.validate(exp)
            exp_id = store.submit(who["id"], exp, backend.name, backend.cost(exp))
        except DuplicateError as e:
            raise HTTPException(409, {"message": str(e), "existing": e.existing}) from None
        except (OverBudgetError, LmforgeError) as e:
            raise HTTPException(400, str(e)) from None
        return {"id": exp_id, "status": "queued", "flops": exp.flops, "budget": store.budget(who["id"])}

    @app.get("/experiments")
    def list_experiments(who: Caller) -> list[dict[str, Any]]:
        return store.experiments(who["id"])

    @app.get("/experiment/{exp_id}")
    def show_experiment(exp_id: int, who: Caller) -> dict[str, Any]:
        found = store.experiment(who["id"], exp_id)
        if found is None:
            raise HTTPException(404, f"no experiment {exp_id} for this key")
        return found

    @app.get("/budget")
    def budget(who: Caller) -> dict[str, Any]:
        return {"name": who["name"], **store.budget(who["id"])}

    @app.post("/predict")
    def predict(body: PredictRequest, who: Caller) -> dict[str, Any]:
        rows = store.finished_rows(who["id"])
        try:
            options = {"level": body.level}
            if body.method == "parametric":
                options["bootstrap"] = body.bootstrap
            law = laws.get(rows, who["id"], body.method, **options)
            exp = Experiment(model=body.model, flops=body.budget) if body.model else None
            return answer(law, backend, body.budget, len(rows), exp, body.vocab_size, body.context_length)
        except LmforgeError as e:
            raise HTTPException(400, f"cannot predict from {len(rows)} finished runs: {e}") from None

    @app.get("/", response_class=HTMLResponse)
    def dashboard() -> str:  # a static page: every number on it comes from the authenticated API
        return (Path(__file__).parent / "dashboard.html").read_text()

    @app.get("/plot/isoflops.png")
    def isoflops_plot(who: Caller) -> Response:
        from .plot import isoflops_png

        return Response(isoflops_png(store.finished_rows(who["id"])), media_type="image/png",
                        headers={"Cache-Control": "no-store"})

    return app

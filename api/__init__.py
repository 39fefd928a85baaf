"""The HTTP API: a Flask app factory with one Blueprint per concern."""

from __future__ import annotations

from flask import Flask, g

from app.config import Config, load_config


def create_app(config: Config | None = None) -> Flask:
    """Build the API for ``config`` (default: read from the environment)."""
    from api.batch_lines import BatchLines
    from api.batches import bp as batches_bp
    from api.body_deadline import BodyDeadline
    from api.docs import bp as docs_bp
    from api.embedding_service import Embeddings
    from api.embeddings import bp as embeddings_bp
    from api.errors import register_error_handlers
    from api.files import bp as files_bp
    from api.jobs import bp as jobs_bp
    from api.loras import bp as loras_bp
    from api.openai_routes import bp as openai_bp
    from api.ops import bp as ops_bp
    from api.page import bp as page_bp
    from api.services import Services
    from api.stats import bp as stats_bp
    from api.stream import bp as stream_bp
    from api.stream import sock
    from api.tokenize import bp as tokenize_bp
    from api.webhooks import bp as webhooks_bp

    config = config or load_config()
    app = Flask(__name__, static_folder=None)  # no open /static route: the page blueprint serves its one file
    app.config["MAX_CONTENT_LENGTH"] = config.api.max_body_bytes
    app.json.sort_keys = False
    app.extensions["llmjobs"] = svc = Services.build(config)
    app.extensions["llmjobs.embeddings"] = embeddings = Embeddings(lambda: svc.submitter.cache.embedder)
    register_error_handlers(app)
    app.register_blueprint(ops_bp)
    app.register_blueprint(page_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(stream_bp)
    app.register_blueprint(openai_bp)
    app.register_blueprint(embeddings_bp)
    app.register_blueprint(tokenize_bp)
    app.register_blueprint(loras_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(batches_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(stats_bp)
    sock.init_app(app)
    app.wsgi_app = BodyDeadline(app.wsgi_app, config.api.body_timeout_s, config.api.max_body_bytes, large_paths=("/v1/files",))
    svc.batch_sweeper = batch_runner(svc, BatchLines(svc, embeddings)).start()

    @app.after_request
    def _reply_headers(response):  # X-RateLimit-* of a submit, on its reply (a stream's too)
        response.headers.update(g.get("reply_headers", {}))
        return response

    return app


def batch_runner(svc, lines):
    """The batch runner's rounds, four a second: a line that ends is collected and the next one fed soon after."""
    from app.batches.files import DEFAULT_EXPIRES_S
    from app.batches.pace import Pace
    from app.batches.runner import BatchRunner
    from app.jobs.sweeper import Sweeper

    batches = svc.config.batches
    pace = Pace(headroom=batches.headroom, yield_inflight=batches.yield_inflight, max_inflight=batches.max_inflight)
    runner = BatchRunner(svc.batches, svc.files, lines, lines.load, pace, DEFAULT_EXPIRES_S, metrics=svc.metrics)
    return Sweeper([runner.run_once], interval_s=0.25)

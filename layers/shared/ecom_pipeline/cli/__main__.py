from ecom_pipeline.cli import app

app()

# The engine's own image. The chart's database bootstrap Job runs `supa-engine db bootstrap`
# from it; point `database.bootstrap_image` at wherever you publish it.
#
#   docker build -t <registry>/supa-engine:<version> .
FROM python:3.11-slim-bookworm

COPY . /src
# `db bootstrap` needs psycopg, which comes with the deploy extra.
RUN pip install --no-cache-dir "/src[deploy]" && rm -rf /src

# The restricted Pod Security Standard: a non-root, numeric user (the Job sets the same UID).
USER 10001:10001
ENTRYPOINT ["supa-engine"]

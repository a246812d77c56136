# The wallet-ops Airflow image: the official Airflow image, our pinned lock, ops_domain, the
# DAGs and the plugins. Every Airflow component of docker-compose.yaml runs it; with the
# LocalExecutor the tasks run inside the scheduler container, so ops_domain is installed in
# the image (not only mounted). The Airflow version is the one pinned in requirements.txt.
FROM apache/airflow:3.3.2-python3.11

# The provider the compose stack needs beyond the local lock: the Keycloak auth manager (UI
# login through the wallet-ops realm). The Celery executor (the `celery` profile) comes with
# the lock's own pins (provider, celery, kombu, redis), the ones `make airflow-celery` runs.
ARG EXTRA_PROVIDERS="apache-airflow-providers-keycloak==0.11.2"

USER root
RUN install -d -o airflow -g 0 /opt/wallet-ops
USER airflow

COPY --chown=airflow:0 requirements.txt /opt/wallet-ops/requirements.txt
RUN pip install --no-cache-dir -r /opt/wallet-ops/requirements.txt ${EXTRA_PROVIDERS}

# Installed in place (editable) so the project root is /opt/wallet-ops (its var/ the default
# state directory). The release gate's smoke scenarios ship inside the package (ops_domain.smoke).
COPY --chown=airflow:0 pyproject.toml /opt/wallet-ops/pyproject.toml
COPY --chown=airflow:0 ops_domain /opt/wallet-ops/ops_domain
RUN pip install --no-cache-dir --no-deps -e /opt/wallet-ops

COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

ENV GX_ANALYTICS_ENABLED=False \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

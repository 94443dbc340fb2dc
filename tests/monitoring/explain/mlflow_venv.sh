#!/usr/bin/env sh
# The MLflow tracking server the tests start (tests/monitoring/explain/test_mlflow_sync.py) lives in
# its own virtualenv: mlflow's pins would downgrade the project's pyarrow and gunicorn, and Custos
# itself only speaks MLflow's REST API (httpx), so mlflow is a test-only tool, never in .venv.
#
#   tests/monitoring/explain/mlflow_venv.sh      # build $CUSTOS_TEST_MLFLOW_VENV (default .venv/mlflow)
#
# scikit-learn and skops are pinned to the project's versions so the skops files MLflow writes load here;
# onnx, onnxruntime and skl2onnx (the project's pins) let the tests log an ONNX-flavour model.
set -eu
here=$(cd "$(dirname "$0")/../../.." && pwd)
venv=${CUSTOS_TEST_MLFLOW_VENV:-$here/.venv/mlflow}
if [ -x "$venv/bin/mlflow" ] && "$venv/bin/mlflow" --version 2>/dev/null | grep -q "3.17.2" \
  && "$venv/bin/python" -c "import onnx, onnxruntime, skl2onnx" 2>/dev/null; then
  echo "mlflow 3.17.2 already in $venv"; exit 0
fi
python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "mlflow==3.17.2" "scikit-learn==1.9.1" "skops==0.16.0" \
  "onnx==1.23.2" "onnxruntime==1.32.0" "skl2onnx==1.20.0"
echo "$("$venv/bin/mlflow" --version) installed in $venv"

#!/usr/bin/env bash
# Checks the Helm chart (helm/numflow), its alerts and its dashboards, offline but for the package
# registries. Installs what it needs once into a cache (idempotent), then:
#
#   1. helm lint --strict with each helm/numflow/ci/*-values.yaml
#   2. helm template with each of them, every rendered object validated by kubeconform -strict
#      against the Kubernetes JSON schemas and the CRD schemas (ServiceMonitor, PodMonitor,
#      PrometheusRule, KEDA ScaledObject/TriggerAuthentication, Strimzi KafkaTopic)
#   3. each helm/numflow/ci/bad/*.yaml must be refused, with the message its `# expect:` line names
#   4. the packaged chart (.helmignore applied) renders too
#   5. promtool check rules + promtool test rules (alerts/), and the rules of every rendered
#      PrometheusRule pass promtool check rules
#   6. every dashboard parses and follows the conventions (scripts/dashboards.py lint), and the
#      rendered dashboard ConfigMaps hold valid JSON
#
# Exit status non-zero on any failure; the last line is "N passed, M failed".
#
# Tools and where they come from (versions below, overridable by environment):
#   helm, kubeconform   go install from the Go module proxy (needs the machine's Go >= 1.22)
#   promtool            Debian package prometheus
#   Kubernetes schemas  PyPI wheel kubernetes-validate (bundles the JSON schemas per version)
#   CRD schemas         prometheus-operator and KEDA Go modules (their CRD YAML), Strimzi's
#                       crd-generator run on its api jar from Maven Central (KafkaTopic)
#                       -> JSON schema by scripts/helm_schemas.py
# Cache: $NUMFLOW_TOOLS_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/numflow/helm-tools).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
chart=$root/helm/numflow

HELM_VERSION=${HELM_VERSION:-v3.19.5}
KUBECONFORM_VERSION=${KUBECONFORM_VERSION:-v0.7.0}
K8S_VERSION=${K8S_VERSION:-1.31.0}
KUBERNETES_VALIDATE_VERSION=${KUBERNETES_VALIDATE_VERSION:-1.37.0}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
KEDA_VERSION=${KEDA_VERSION:-v2.16.1}
STRIMZI_VERSION=${STRIMZI_VERSION:-0.45.0}   # 0.45 is the last whose crd-generator runs on Java 17
CACHE=${NUMFLOW_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/numflow/helm-tools}

case ${1:-} in -h|--help) sed -n '2,27p' "$0"; exit 0 ;; esac

t0=$SECONDS
log() { printf 'check-helm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/numflow-check-helm.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------------------------------------
# Tools (each step skips itself when its result is cached)

apt_install() {  # apt_install PACKAGE...: install the missing ones
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  log "installing ${missing[*]} (Debian)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {  # a python3 with PyYAML and pip
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import yaml' 2>/dev/null && "$py" -m pip --version >/dev/null 2>&1; then
      PY=$py; return 0
    fi
  done
  apt_install python3 python3-yaml python3-pip
  PY=/usr/bin/python3
}

go_tool() {  # go_tool NAME MODULE/CMD VERSION: $CACHE/bin/NAME-VERSION, built by go install
  local name=$1 pkg=$2 version=$3 bin=$CACHE/bin/$1-$3
  if [[ ! -x $bin ]]; then
    command -v go >/dev/null || die "Go is needed to build $name (go install from the Go module proxy)"
    local gv; gv=$(go env GOVERSION); gv=${gv#go}
    [[ $(printf '%s\n' 1.22 "$gv" | sort -V | head -1) == 1.22 ]] || die "Go >= 1.22 is needed to build $name (found $gv)"
    log "building $name $version (go install $pkg@$version)"
    mkdir -p "$CACHE/bin" "$work/gobin"
    GOBIN=$work/gobin GOFLAGS=-mod=mod go install "$pkg@$version"
    mv "$work/gobin/$name" "$bin"
  fi
  ln -sf "$(basename "$bin")" "$CACHE/bin/$name"
}

go_module_dir() {  # go_module_dir MODULE VERSION: print the module's directory in the module cache
  (cd "$work" && go mod download -json "$1@$2") | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

k8s_schemas() {
  local dir=$CACHE/schemas/k8s-$KUBERNETES_VALIDATE_VERSION
  K8S_SCHEMAS=$dir
  [[ -f $dir/v$K8S_VERSION-local-strict/deployment-apps-v1.json ]] && return 0
  log "fetching Kubernetes $K8S_VERSION JSON schemas (PyPI kubernetes-validate==$KUBERNETES_VALIDATE_VERSION)"
  mkdir -p "$CACHE/dl"
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE/dl" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
  "$PY" "$here/helm_schemas.py" k8s "$CACHE/dl/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl" \
    "$K8S_VERSION" "$dir.tmp" >&2
  mkdir -p "$dir"
  rm -rf "$dir/v$K8S_VERSION-local-strict"
  mv "$dir.tmp/v$K8S_VERSION-local-strict" "$dir/"
  rm -rf "$dir.tmp"
}

strimzi_kafkatopic_crd() {  # print the path of Strimzi's KafkaTopic CRD YAML, generated once
  local dir=$CACHE/strimzi-$STRIMZI_VERSION
  if [[ ! -s $dir/kafkatopic.yaml ]]; then
    apt_install maven openjdk-17-jre-headless
    log "generating Strimzi $STRIMZI_VERSION KafkaTopic CRD (Maven Central io.strimzi:api + crd-generator)"
    mkdir -p "$dir"
    cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Generated by numflow scripts/check-helm.sh: Strimzi's API model and CRD generator. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>numflow.local</groupId><artifactId>strimzi-crds</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>$STRIMZI_VERSION</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>$STRIMZI_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    mvn -q -B -f "$dir/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dir/libs" >"$dir/mvn.log" 2>&1 ||
      { tail -n 20 "$dir/mvn.log" >&2; die "Maven could not fetch Strimzi $STRIMZI_VERSION"; }
    java -XX:TieredStopAtLevel=1 -cp "$dir/libs/*" io.strimzi.crdgenerator.CrdGenerator --yaml \
      --crd-api-version v1 --api-versions v1beta2 --storage-version v1beta2 \
      "io.strimzi.api.kafka.model.topic.KafkaTopic=$dir/kafkatopic.yaml.tmp" >"$dir/gen.log" 2>&1 ||
      { cat "$dir/gen.log" >&2; die "Strimzi's CrdGenerator failed"; }
    mv "$dir/kafkatopic.yaml.tmp" "$dir/kafkatopic.yaml"
  fi
  echo "$dir/kafkatopic.yaml"
}

crd_schemas() {
  local dir=$CACHE/schemas/crds-po$PROMETHEUS_OPERATOR_VERSION-keda$KEDA_VERSION-strimzi$STRIMZI_VERSION
  CRD_SCHEMAS=$dir
  [[ -f $dir/.complete ]] && return 0
  log "CRD schemas: prometheus-operator $PROMETHEUS_OPERATOR_VERSION, KEDA $KEDA_VERSION, Strimzi $STRIMZI_VERSION"
  local po keda topic
  po=$(go_module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
  keda=$(go_module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")
  topic=$(strimzi_kafkatopic_crd)
  rm -rf "$dir"
  "$PY" "$here/helm_schemas.py" crds "$dir" \
    "$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
    "$po/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
    "$po/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" \
    "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
    "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" \
    "$topic" >&2
  touch "$dir/.complete"
}

install_tools() {
  local t=$SECONDS
  apt_install prometheus   # promtool (the package's service is not started by us)
  pick_python
  go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
  go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
  export PATH=$CACHE/bin:$PATH
  k8s_schemas
  crd_schemas
  log "tools ready in $((SECONDS - t))s (cache $CACHE)"
}

# ---------------------------------------------------------------------------------------------
# Checks

passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }

kubeconform_check() {  # kubeconform_check FILE
  kubeconform -strict -summary -output text -kubernetes-version "$K8S_VERSION" \
    -schema-location "$K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$CRD_SCHEMAS/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$1"
}

check_values_files() {
  local f name out
  shopt -s nullglob
  local files=("$chart"/ci/*-values.yaml)
  ((${#files[@]})) || { bad "no values files in $chart/ci"; return; }
  for f in "${files[@]}"; do
    name=$(basename "$f" .yaml)
    # helm lint reports a template `fail` only as [INFO]: count that as a failure too.
    if out=$(helm lint --strict "$chart" -f "$f" --kube-version "$K8S_VERSION" 2>&1) &&
       ! grep -qE '\[(ERROR|WARNING)\]|Fail:' <<<"$out"; then
      ok "helm lint --strict ($name)"
    else
      bad "helm lint --strict ($name)"; echo "$out" | sed 's/^/      /'
    fi
    if ! helm template numflow "$chart" -f "$f" --namespace numflow --kube-version "$K8S_VERSION" \
         >"$work/$name.yaml" 2>"$work/$name.err"; then
      bad "helm template ($name)"; sed 's/^/      /' "$work/$name.err"; continue
    fi
    if out=$(kubeconform_check "$work/$name.yaml" 2>&1); then
      ok "helm template + kubeconform ($name): ${out##*Summary: }"
    else
      bad "kubeconform ($name)"; echo "$out" | sed 's/^/      /'
    fi
  done
}

check_bad_values() {
  local f name expect out
  shopt -s nullglob
  local files=("$chart"/ci/bad/*.yaml)
  ((${#files[@]})) || { bad "no bad values files in $chart/ci/bad"; return; }
  for f in "${files[@]}"; do
    name=bad/$(basename "$f" .yaml)
    expect=$(sed -n 's/^# expect: //p' "$f" | head -n 1)
    [[ -n $expect ]] || { bad "$name: no '# expect: MESSAGE' line"; continue; }
    if out=$(helm template numflow "$chart" -f "$f" --kube-version "$K8S_VERSION" 2>&1); then
      bad "$name: accepted, but must be refused ($expect)"
    elif grep -qF -- "$expect" <<<"$out"; then
      ok "$name refused: $expect"
    else
      bad "$name refused for another reason than '$expect'"; echo "$out" | sed 's/^/      /'
    fi
  done
}

check_package() {
  local out
  if out=$(helm package "$chart" -d "$work/pkg" 2>&1) &&
     helm template numflow "$work"/pkg/numflow-*.tgz -f "$chart/ci/full-values.yaml" --kube-version "$K8S_VERSION" \
       >"$work/package.yaml" 2>&1 &&
     cmp -s <(grep -v '^#' "$work/package.yaml") <(grep -v '^#' "$work/full-values.yaml"); then
    ok "packaged chart renders like the source (.helmignore keeps dashboards and alerts)"
  else
    bad "packaged chart"; echo "$out" | sed 's/^/      /'
  fi
}

check_alerts() {
  local out
  if out=$(promtool check rules "$chart/alerts/numflow-rules.yaml" 2>&1); then
    ok "promtool check rules: $(grep -o 'SUCCESS.*' <<<"$out")"
  else
    bad "promtool check rules"; echo "$out" | sed 's/^/      /'
  fi
  if out=$(cd "$chart/alerts" && promtool test rules tests.yaml 2>&1); then
    ok "promtool test rules alerts/tests.yaml"
  else
    bad "promtool test rules"; echo "$out" | sed 's/^/      /'
  fi
  # Every alert of the rule file has a unit test, and a runbook that names a docs section.
  if out=$("$PY" - "$chart/alerts" "$root/docs/operations.md" <<'EOF'
import os, re, sys, yaml
d, doc = sys.argv[1], sys.argv[2]
rules = yaml.safe_load(open(os.path.join(d, "numflow-rules.yaml")))
tests = yaml.safe_load(open(os.path.join(d, "tests.yaml")))
tested = {c["alertname"] for t in tests["tests"] for c in t.get("alert_rule_test", []) if c.get("exp_alerts")}
anchors = set()
if os.path.exists(doc):
    for line in open(doc):
        m = re.match(r"#+\s+(.*)", line)
        if m:
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", m.group(1).strip().lower()).replace(" ", "-"))
problems = []
for g in rules["groups"]:
    for r in g["rules"]:
        a = r.get("alert")
        if not a:
            continue
        if a not in tested:
            problems.append(f"{a}: no test where it fires")
        rb = r.get("annotations", {}).get("runbook", "")
        if not rb.startswith("docs/operations.md#"):
            problems.append(f"{a}: runbook annotation must point at docs/operations.md#section")
        elif rb.split("#", 1)[1] not in anchors:
            problems.append(f"{a}: runbook section #{rb.split('#', 1)[1]} not found in docs/operations.md")
print("\n".join(problems))
sys.exit(1 if problems else 0)
EOF
  ); then
    ok "every alert has a firing test and a runbook section in docs/operations.md"
  else
    bad "alerts without test or runbook"; echo "$out" | sed 's/^/      /'
  fi
  # The PrometheusRule objects the chart renders (disabled alerts, extra labels, extra groups).
  local f n=0
  for f in "$work"/*-values.yaml; do
    "$PY" - "$f" "$work/rules-$(basename "$f")" <<'EOF' || continue
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
if not docs:
    sys.exit(1)
yaml.safe_dump({"groups": [g for d in docs for g in d["spec"]["groups"]]}, open(sys.argv[2], "w"))
EOF
    n=$((n + 1))
    if out=$(promtool check rules "$work/rules-$(basename "$f")" 2>&1); then
      ok "rendered PrometheusRule passes promtool ($(basename "$f" .yaml))"
    else
      bad "rendered PrometheusRule ($(basename "$f" .yaml))"; echo "$out" | sed 's/^/      /'
    fi
  done
  ((n)) || bad "no values file renders a PrometheusRule"
}

check_dashboards() {
  local out
  if out=$("$PY" "$here/dashboards.py" lint "$chart/dashboards" 2>&1); then
    ok "${out##*$'\n'}"
  else
    bad "dashboards lint"; echo "$out" | sed 's/^/      /'
  fi
  if out=$("$PY" - "$work/defaults-values.yaml" <<'EOF'
import json, sys, yaml
n = 0
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap" and "grafana_dashboard" in d["metadata"].get("labels", {}):
        for key, text in d["data"].items():
            json.loads(text); n += 1
if n == 0:
    sys.exit("no dashboard ConfigMap rendered")
print(f"{n} dashboard ConfigMaps with valid JSON")
EOF
  ); then
    ok "$out"
  else
    bad "rendered dashboard ConfigMaps"; echo "$out" | sed 's/^/      /'
  fi
}

install_tools
tc=$SECONDS
check_values_files
check_bad_values
check_package
check_alerts
check_dashboards
log "checks took $((SECONDS - tc))s, $((SECONDS - t0))s in all"
echo "check-helm: $passed passed, $failed failed"
((failed == 0))

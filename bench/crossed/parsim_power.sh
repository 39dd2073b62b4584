#!/bin/sh
# parsim's REML criterion and θ of every replication in DATA_DIR (rep0.csv ...), one CSV line each.
# Usage: bench/crossed/parsim_power.sh PARSIM_BINARY DATA_DIR [COUNT]
bin=$1; dir=$2; count=${3:-200}
echo replication,criterion,theta1,theta2,theta3,theta4,converged
r=0
while [ "$r" -lt "$count" ]; do
  "$bin" fit --formula "rt ~ cond + (1 + cond | subj) + (1 | item)" --format json "$dir/rep$r.csv" |
    python3 -c 'import json,sys; f=json.load(sys.stdin); print(",".join(["'"$r"'", repr(f["reml_criterion"])] + [repr(t) for t in f["theta"]] + [str(f["converged"])]))'
  r=$((r + 1))
done

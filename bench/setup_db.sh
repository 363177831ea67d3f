#!/usr/bin/env bash
# Create a fresh PostgreSQL benchmark database with N customers.
#
#   bench/setup_db.sh 100000            # -> database guanxi_bench
#   bench/setup_db.sh 1000000 guanxi_bench_1m
#
# Steps: drop + create the database, migrate, load regions, demo_data (7 users, 3,000
# customers), 18 more sales reps (so that a rep owns ~1/20 of the book and the manager's
# team ~2/3), then `manage.py seed` for the rest, timed. Log: bench/results/seed-N.log
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
N=${1:?usage: bench/setup_db.sh CUSTOMERS [DBNAME]}
DB=${2:-guanxi_bench}
case "$DB" in guanxi_bench*) ;; *) echo "refusing to drop $DB: use a name starting with guanxi_bench" >&2; exit 2;; esac
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
PY=.venv/bin/python
LOG=bench/results/seed-$N.log
mkdir -p bench/results

psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
$PY manage.py migrate --no-input -v0
$PY manage.py load_regions --if-empty
$PY manage.py demo_data >/dev/null
$PY manage.py shell -v0 -c "
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from guanxi.users import roles
from guanxi.users.models import Team, User
password = make_password('guanxi-demo')
group = Group.objects.get(name=roles.SALES_REP)
teams = [Team.objects.get(name=n) for n in ('上海组', '杭州组', '华北销售部')]
for i in range(3, 21):
    user, _ = User.objects.get_or_create(username=f'rep{i}', defaults={
        'display_name': f'销售{i}', 'password': password, 'team': teams[(i - 3) // 6]})
    user.groups.add(group)
"
REST=$((N - 3000))
{
  echo "# $(date -u +%FT%TZ) seed $REST customers into $DB ($(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$(date +%s.%N)
  $PY manage.py seed --customers "$REST" --contacts-per-customer 1 --batch 5000
  end=$(date +%s.%N)
  echo "# wall clock including Django start-up: $(echo "$end - $start" | bc) s"
  psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT 'customers: ' || count(*) FROM customers_customer"
  psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size('$DB'))"
} 2>&1 | tee "$LOG"

# results.csv is the long format rsimsum, siman and INTEREST import (docs/results.md): check that R reads
# it with the columns the mapping names, and that bias, empirical SE, model SE and coverage computed from
# it as rsimsum defines them equal parsim's summary.csv.
# Usage: Rscript long_format.R RESULTS_DIR FACTOR...
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
factors <- args[-1]
est <- read.csv(file.path(dir, "results.csv"), stringsAsFactors = FALSE)
needed <- c("condition", factors, "replication", "method", "term", "status", "estimate", "se", "df",
            "ci_lower", "ci_upper", "p_value", "truth")
missing <- setdiff(needed, names(est))
if (length(missing) > 0) stop("results.csv lacks ", paste(missing, collapse = ", "))

# The estimates parsim's measures use: fits ok or singular, a finite estimate, a true value.
used <- est[est$status %in% c("ok", "singular") & is.finite(est$estimate) & !is.na(est$truth), ]
keys <- c("condition", "method", "term")
group <- interaction(used[keys], drop = TRUE, lex.order = TRUE)
per <- function(f) sapply(split(used, group), f)
mine <- data.frame(
  key = levels(group),
  bias = per(function(d) mean(d$estimate - d$truth)),
  empse = per(function(d) sd(d$estimate)),
  modelse = per(function(d) if (anyNA(d$se)) NA else sqrt(mean(d$se^2))),
  cover = per(function(d) {
    q <- ifelse(is.na(d$df) | d$df > 1e7, qnorm(0.975), qt(0.975, d$df))
    if (anyNA(d$se)) NA else 100 * mean(abs(d$estimate - d$truth) <= q * d$se)
  }),
  stringsAsFactors = FALSE
)

summary <- read.csv(file.path(dir, "summary.csv"), stringsAsFactors = FALSE)
summary$key <- as.character(interaction(summary[keys], drop = TRUE, lex.order = TRUE))
both <- merge(mine, summary, by = "key", suffixes = c("", ".parsim"))
if (nrow(both) != nrow(summary) || nrow(both) != nrow(mine)) {
  stop(sprintf("%d groups from results.csv, %d rows in summary.csv, %d in common",
               nrow(mine), nrow(summary), nrow(both)))
}
# Sums of at most a few hundred doubles of magnitude below 10, in another order than parsim's: the
# rounding differences are near 1e-15; 1e-12 leaves room and still catches any real disagreement.
for (m in c("bias", "empse", "modelse")) {
  a <- both[[m]]
  b <- both[[paste0(m, ".parsim")]]
  if (!identical(is.na(a), is.na(b))) stop(m, ": missing in one and not the other")
  worst <- max(c(0, abs(a - b)), na.rm = TRUE)
  if (worst > 1e-12) stop(sprintf("%s differs by %g", m, worst))
  cat(sprintf("%s: %d groups, max |R - parsim| = %.3g\n", m, sum(!is.na(a)), worst))
}
# Coverage is a count: equal exactly, unless an estimate sits on an interval's edge within rounding.
off <- which(!is.na(both$cover) & abs(both$cover - both$cover.parsim) > 1e-9)
if (length(off) > 0) stop("coverage differs in ", paste(both$key[off], collapse = ", "))
cat(sprintf("cover: %d groups equal\n", sum(!is.na(both$cover))))

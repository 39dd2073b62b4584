# lme4's glmer and glmmTMB (default controls, Laplace) on issue 19's three data sets: median, min and
# max milliseconds per fit (after one warm-up fit), as `tool name median min max` lines.
# Usage: Rscript glmm_r.R DATA_DIR
suppressMessages({
  library(lme4)
  library(glmmTMB)
})
dir <- commandArgs(trailingOnly = TRUE)[1]
time_fit <- function(f, n) {
  f()
  t <- replicate(n, system.time(f())[["elapsed"]]) * 1000
  c(median(t), min(t), max(t))
}
cbpp <- read.csv(file.path(dir, "cbpp_laplace.csv")); cbpp$period <- factor(cbpp$period)
cbpp$herd <- factor(cbpp$herd)
crt <- read.csv(file.path(dir, "crt_logit_seed1.csv")); crt$cluster <- factor(crt$cluster)
verb <- read.csv(file.path(dir, "verbagg_crossed.csv"))
formulas <- list(
  cbpp = cbind(incidence, failures) ~ period + (1 | herd),
  crt = y ~ trt + x + (1 | cluster),
  verbagg = r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)
)
data <- list(cbpp = cbpp, crt = crt, verbagg = verb)
repeats <- c(cbpp = 7, crt = 7, verbagg = 3)
tools <- list(
  lme4 = function(f, d) glmer(f, d, binomial),
  glmmTMB = function(f, d) glmmTMB(f, d, family = binomial)
)
for (tool in names(tools)) {
  for (name in names(formulas)) {
    t <- time_fit(function() tools[[tool]](formulas[[name]], data[[name]]), repeats[[name]])
    cat(sprintf("%s %s %.4f %.4f %.4f\n", tool, name, t[1], t[2], t[3]))
  }
}

# lme4's glmer (default control, Laplace) on issue 19's three data sets: median, min and max
# milliseconds per fit over 5 fits (after one warm-up), as `name median min max` lines.
suppressMessages(library(lme4))
dir <- commandArgs(trailingOnly = TRUE)[1]
time_fit <- function(f) {
  f()
  t <- replicate(5, system.time(f())[["elapsed"]]) * 1000
  c(median(t), min(t), max(t))
}
cbpp <- read.csv(file.path(dir, "cbpp_laplace.csv")); cbpp$period <- factor(cbpp$period)
cbpp$herd <- factor(cbpp$herd)
crt <- read.csv(file.path(dir, "crt_logit_seed1.csv")); crt$cluster <- factor(crt$cluster)
verb <- read.csv(file.path(dir, "verbagg_crossed.csv"))
runs <- list(
  cbpp = function() glmer(cbind(incidence, failures) ~ period + (1 | herd), cbpp, binomial),
  crt = function() glmer(y ~ trt + x + (1 | cluster), crt, binomial),
  verbagg = function() glmer(r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), verb, binomial)
)
for (name in names(runs)) {
  t <- time_fit(runs[[name]])
  cat(sprintf("%s %.4f %.4f %.4f\n", name, t[1], t[2], t[3]))
}

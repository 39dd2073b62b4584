# lme4 glmer fits (Laplace) of simulated crossed designs at or near θ's boundary, and one with a
# correlated random slope beside a crossed term: the cases where parsim's stage 1 (quasi-Newton
# in log θ on the profiled criterion's analytic gradient) must hand over or stop short of a bound.
# Tight tolerances as ../glmm/README.md. Run from this folder: Rscript make.R
suppressMessages(library(lme4))
library(jsonlite)
ctrl <- glmerControl(optimizer = "nloptwrap", tolPwrss = 1e-12,
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                    ftol_rel = 1e-15, maxeval = 1e5))
# 40 subjects x 12 items, one binary response each; item SD `item_sd`.
binary <- function(seed, item_sd, slope_sd = 0) {
  set.seed(seed)
  d <- expand.grid(subject = 1:40, item = 1:12)
  d$x <- rnorm(nrow(d))
  eta <- -0.3 + 0.5 * d$x + rnorm(40, sd = 1)[d$subject] + rnorm(12, sd = item_sd)[d$item] +
    rnorm(40, sd = slope_sd)[d$subject] * d$x
  d$y <- rbinom(nrow(d), 1, plogis(eta))
  d
}
# 25 x 10 groups, two Poisson counts per cell; h's SD 0.1.
counts <- function(seed) {
  set.seed(seed)
  d <- expand.grid(g = 1:25, h = 1:10, rep = 1:2)
  d$x <- runif(nrow(d))
  eta <- 0.5 + 0.4 * d$x + rnorm(25, sd = 0.4)[d$g] + rnorm(10, sd = 0.1)[d$h]
  d$count <- rpois(nrow(d), exp(eta))
  d$rep <- NULL
  d
}
cases <- list(
  list(name = "crossed_logit_singular", data = binary(2, 0.05), family = "binomial",
       factors = c("subject", "item"), formula = y ~ x + (1 | subject) + (1 | item)),
  list(name = "crossed_logit_zero", data = binary(5, 0.05), family = "binomial",
       factors = c("subject", "item"), formula = y ~ x + (1 | subject) + (1 | item)),
  list(name = "crossed_pois_small", data = counts(2), family = "poisson",
       factors = c("g", "h"), formula = count ~ x + (1 | g) + (1 | h)),
  list(name = "slope_crossed_logit", data = binary(4, 0.8, 0.6), family = "binomial",
       factors = c("subject", "item"), formula = y ~ x + (1 + x | subject) + (1 | item))
)
for (case in cases) {
  # The fit reads the data back from the CSV, as parsim's test does.
  path <- file.path("data", paste0(case$name, ".csv"))
  write.csv(case$data, path, row.names = FALSE)
  d <- read.csv(path)
  for (f in case$factors) d[[f]] <- factor(d[[f]])
  m <- glmer(case$formula, data = d, family = case$family, control = ctrl)
  s <- summary(m)$coefficients
  out <- list(
    name = case$name, data = paste0("data/", case$name, ".csv"), formula = deparse(case$formula),
    family = case$family, link = if (case$family == "binomial") "logit" else "log", nAGQ = 1,
    factors = case$factors,
    fixef = lapply(seq_len(nrow(s)), function(i) list(name = rownames(s)[i], estimate = s[i, 1],
                                                    se = s[i, 2])),
    theta = unname(getME(m, "theta")), logLik = as.numeric(logLik(m)),
    singular = isSingular(m), lme4 = as.character(packageVersion("lme4")))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), paste0(case$name, ".json"))
}

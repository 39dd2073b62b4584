# lme4 glmer fits with nAGQ = 0 (parsim's fast mode) on the issue 19 fixtures' data, at tight
# tolerances as those fixtures (../glmm/README.md). Run from this folder: Rscript make.R
suppressMessages(library(lme4))
library(jsonlite)
ctrl <- glmerControl(optimizer = "nloptwrap", tolPwrss = 1e-12,
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                    ftol_rel = 1e-15, maxeval = 1e5))
cases <- list(
  list(name = "cbpp_nagq0", data = "cbpp_laplace.csv", factors = c("herd", "period"),
       formula = cbind(incidence, failures) ~ period + (1 | herd)),
  list(name = "crt_logit_nagq0", data = "crt_logit_seed1.csv", factors = "cluster",
       formula = y ~ trt + x + (1 | cluster))
)
for (case in cases) {
  d <- read.csv(file.path("../glmm/data", case$data))
  for (f in case$factors) d[[f]] <- factor(d[[f]])
  m <- glmer(case$formula, data = d, family = binomial, nAGQ = 0, control = ctrl)
  s <- summary(m)$coefficients
  out <- list(
    name = case$name, data = paste0("../glmm/data/", case$data), formula = deparse(case$formula),
    family = "binomial", link = "logit", nAGQ = 0,
    factors = setdiff(case$factors, "herd"),
    fixef = lapply(seq_len(nrow(s)), function(i) list(name = rownames(s)[i], estimate = s[i, 1],
                                                    se = s[i, 2])),
    theta = unname(getME(m, "theta")), logLik = as.numeric(logLik(m)),
    singular = isSingular(m), lme4 = as.character(packageVersion("lme4")))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), paste0(case$name, ".json"))
}

# lme4's REML fit of every replication of examples/crossed-power.toml (data written by `parsim data`):
# one line per replication with the REML criterion and θ, at lme4's default settings and, as the
# reference optimum, refitted with tighter BOBYQA tolerances from lme4's estimate.
# Usage: Rscript bench/crossed/lme4_power.R DATA_DIR OUT.csv [REPLICATIONS]
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; out <- args[2]
reps <- if (length(args) >= 3) eval(parse(text = args[3])) else 0:199
tight <- lmerControl(optimizer = "bobyqa",
                     optCtrl = list(rhobeg = 2e-4, rhoend = 1e-10, maxfun = 1e5),
                     check.conv.singular = "ignore", calc.derivs = FALSE)
rows <- lapply(reps, function(r) {
  d <- read.csv(file.path(dir, sprintf("rep%d.csv", r)))
  d$subj <- factor(d$subj); d$item <- factor(d$item)
  m <- lmer(rt ~ cond + (1 + cond | subj) + (1 | item), data = d, REML = TRUE)
  # The refit starts from lme4's optimum with a small trust region: a polish, not another search.
  m2 <- lmer(rt ~ cond + (1 + cond | subj) + (1 | item), data = d, REML = TRUE,
             control = tight, start = list(theta = getME(m, "theta")))
  # The criteria from lme4's own deviance function of θ (REMLcrit() is not the criterion printed).
  devfun <- lmer(rt ~ cond + (1 + cond | subj) + (1 | item), data = d, REML = TRUE,
                 devFunOnly = TRUE)
  c1 <- devfun(getME(m, "theta")); c2 <- devfun(getME(m2, "theta"))
  th <- getME(if (c2 < c1) m2 else m, "theta")
  data.frame(replication = r,
             lme4_criterion = sprintf("%.10f", c1),
             criterion = sprintf("%.10f", min(c1, c2)),
             theta1 = sprintf("%.10g", th[1]), theta2 = sprintf("%.10g", th[2]),
             theta3 = sprintf("%.10g", th[3]), theta4 = sprintf("%.10g", th[4]))
})
write.csv(do.call(rbind, rows), out, row.names = FALSE, quote = FALSE)

# Refits the lme4 reference cases whose fixture stopped short of lme4's optimum, with tight
# optimizer tolerances, and writes them in the fixtures' format. See README.md.
# Run from this directory: Rscript make.R   (lme4 1.1-31, lmerTest 3.1-3, jsonlite)
suppressMessages({
  library(lmerTest)
  library(jsonlite)
})

cases <- c("seed0_rs", "seed1_rs", "seed2_rs", "sleepstudy_slope_reml", "sleepstudy_slope_ml",
           "penicillin_crossed")
fixtures <- "../lme4"

# nloptwrap's BOBYQA run to the limits of double precision: lme4's defaults (xtol_abs 1e-8,
# ftol_abs 1e-8 on the deviance scale) stop up to 6.5e-7 above the optimum on these cases.
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                    ftol_rel = 1e-15, maxeval = 1e5))
# Independent optimizers for the record: the criterion each reaches.
checks <- list(
  bobyqa = lmerControl(optimizer = "bobyqa",
                       optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5)),
  Nelder_Mead = lmerControl(optimizer = "Nelder_Mead",
                            optCtrl = list(FtolAbs = 1e-15, FtolRel = 1e-15, XtolRel = 1e-12,
                                           maxfun = 1e5)))

criterion <- function(m) if (isREML(m)) REMLcrit(m) else deviance(m)

for (name in cases) {
  fixture <- fromJSON(file.path(fixtures, paste0(name, ".json")), simplifyVector = FALSE)
  data_file <- file.path(fixtures, fixture$data)
  d <- read.csv(data_file)
  formula <- as.formula(fixture$formula)
  # Grouping variables are factors (the CSVs store seed groups and sleepstudy subjects as numbers).
  for (v in unique(unlist(lapply(lme4::findbars(formula), function(b) all.vars(b[[3]]))))) {
    d[[v]] <- factor(d[[v]])
  }
  m <- lmer(formula, d, REML = fixture$REML, control = tight)
  s <- summary(m, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(m))
  cmp <- vapply(checks, function(ctl) criterion(lmer(formula, d, REML = fixture$REML, control = ctl)),
                numeric(1))
  out <- list(
    name = name,
    data = file.path(fixtures, fixture$data),
    formula = fixture$formula,
    REML = fixture$REML,
    nobs = nobs(m),
    ngroups = as.list(ngrps(m)),
    fixef = lapply(seq_len(nrow(s)), function(i) list(
      name = rownames(s)[i], estimate = s[i, "Estimate"], se = s[i, "Std. Error"],
      df = s[i, "df"], t = s[i, "t value"])),
    theta = unname(getME(m, "theta")),
    sigma = sigma(m),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(
      grp = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
      var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i], vcov = vc$vcov[i],
      sdcor = vc$sdcor[i])),
    logLik = as.numeric(logLik(m)),
    deviance = if (isREML(m)) NULL else deviance(m),
    REMLcrit = if (isREML(m)) REMLcrit(m) else NULL,
    AIC = AIC(m),
    BIC = BIC(m),
    singular = isSingular(m),
    vcov_fixef = unname(lapply(seq_len(nrow(vcov(m))), function(i) unname(as.matrix(vcov(m))[i, ]))),
    refit = list(
      optimizer = "nloptwrap (NLOPT_LN_BOBYQA)",
      optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12, ftol_rel = 1e-15,
                     maxeval = 1e5),
      evaluations = m@optinfo$feval,
      fixture_criterion = if (isREML(m)) fixture$REMLcrit else fixture$deviance,
      criterion_bobyqa_rhoend_1e12 = cmp[["bobyqa"]],
      criterion_nelder_mead = cmp[["Nelder_Mead"]],
      versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                      lmerTest = as.character(packageVersion("lmerTest"))))
  )
  writeLines(toJSON(out, auto_unbox = TRUE, null = "null", digits = NA, pretty = TRUE),
             paste0(name, ".json"))
  cat(sprintf("%-22s criterion %.10f (fixture %.10f, bobyqa %.10f, Nelder-Mead %.10f), %d evaluations\n",
              name, criterion(m), out$refit$fixture_criterion, cmp[["bobyqa"]],
              cmp[["Nelder_Mead"]], m@optinfo$feval))
}

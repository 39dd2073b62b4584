# Fragile lme4 cases (issues 17 and 18): large θ, θ near zero, a badly scaled covariate, a fit at
# the boundary, a crossed design with a small variance. Writes CSVs and JSON fixtures in the format
# of ../lme4 (see crates/parsim-lmm/tests/lme4_fragile.rs), each at lme4's optimum found with tight
# optimizer settings (as ../lme4_tight/make.R), with lmerTest's Satterthwaite df, plus lme4's
# default fit for the record.
# Run from this directory: Rscript make.R   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, nlme, jsonlite)
suppressMessages({
  library(lmerTest)
  library(jsonlite)
})

tight_ctrl <- list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12, ftol_rel = 1e-15,
                   maxeval = 1e5)
tight <- lmerControl(optimizer = "nloptwrap", optCtrl = tight_ctrl)
criterion <- function(m) if (isREML(m)) REMLcrit(m) else deviance(m)
messages <- function(m) as.list(c(m@optinfo$conv$lme4$messages, m@optinfo$warnings))

# Fits `formula` to `d` by default and tightly (from `start` when given: a θ of the same model
# mapped from a better-conditioned one), writes NAME.csv and NAME.json.
# `df_from`: when given, a function of the fitted model returning the reference df (used where
# lmerTest's numerical derivatives fail on the model as written).
case <- function(name, d, formula, groups, start = NULL, note = "", df_from = NULL) {
  write.csv(d, paste0(name, ".csv"), row.names = FALSE, quote = FALSE)
  for (g in groups) d[[g]] <- factor(d[[g]])
  f <- as.formula(formula)
  default <- suppressWarnings(lmer(f, d, REML = TRUE))
  m <- if (is.null(start)) lmer(f, d, REML = TRUE, control = tight)
       else lmer(f, d, REML = TRUE, control = tight, start = list(theta = start))
  # A second tight fit from the default fit's θ: the reference is the lower of the two.
  again <- lmer(f, d, REML = TRUE, control = tight, start = list(theta = getME(default, "theta")))
  if (criterion(again) < criterion(m)) m <- again
  s <- summary(m, ddf = "Satterthwaite")$coefficients
  lmertest_df <- unname(s[, "df"])
  if (!is.null(df_from)) s[, "df"] <- df_from(m)
  vc <- as.data.frame(VarCorr(m))
  out <- list(
    name = name, data = paste0(name, ".csv"), formula = formula, REML = TRUE,
    nobs = nobs(m), ngroups = as.list(ngrps(m)),
    fixef = lapply(seq_len(nrow(s)), function(i) list(
      name = rownames(s)[i], estimate = s[i, "Estimate"], se = s[i, "Std. Error"],
      df = s[i, "df"], t = s[i, "t value"])),
    theta = unname(getME(m, "theta")), sigma = sigma(m),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(
      grp = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
      var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i], vcov = vc$vcov[i],
      sdcor = vc$sdcor[i])),
    logLik = as.numeric(logLik(m)), deviance = NULL, REMLcrit = REMLcrit(m),
    AIC = AIC(m), BIC = BIC(m), singular = isSingular(m),
    vcov_fixef = unname(lapply(seq_len(nrow(vcov(m))), function(i) unname(as.matrix(vcov(m))[i, ]))),
    default_fit = list(REMLcrit = REMLcrit(default), theta = unname(getME(default, "theta")),
                       evaluations = default@optinfo$feval, singular = isSingular(default),
                       messages = messages(default),
                       df = unname(summary(as_lmerModLmerTest(default), ddf = "Satterthwaite")$coefficients[, "df"])),
    note = note, lmertest_df_as_written = lmertest_df,
    refit = list(optimizer = "nloptwrap (NLOPT_LN_BOBYQA)", optCtrl = tight_ctrl,
                 evaluations = m@optinfo$feval,
                 versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                                 lmerTest = as.character(packageVersion("lmerTest")))))
  writeLines(toJSON(out, auto_unbox = TRUE, null = "null", digits = NA, pretty = TRUE),
             paste0(name, ".json"))
  cat(sprintf("%-16s tight %.10f (default %.10f, %d evals) theta %s singular %s\n", name,
              REMLcrit(m), REMLcrit(default), default@optinfo$feval,
              paste(signif(getME(m, "theta"), 6), collapse = " "), isSingular(m)))
  print(messages(default))
}

# Oxboys (nlme): heights of 26 boys at 9 ages; random quadratic growth curves. θ is large (the
# boys differ far more than the measurements scatter). age2 = age^2 (precomputed for the formula).
data(Oxboys, package = "nlme")
ox <- data.frame(Subject = paste0("b", as.integer(as.character(Oxboys$Subject))),
                 age = Oxboys$age, height = Oxboys$height)
ox$age2 <- ox$age^2
case("oxboys", ox, "height ~ age + age2 + (age + age2 | Subject)", "Subject")

# A random slope with θ ≈ 100: group effects of SD 1, residual SD 0.01.
set.seed(17)
g <- rep(1:30, each = 8); x <- rep(seq(0, 1, length.out = 8), 30)
b0 <- rnorm(30); b1 <- rnorm(30)
big <- data.frame(g = paste0("g", g), x = x,
                  y = 1 + 2 * x + b0[g] + b1[g] * x + rnorm(240, sd = 0.01))
case("large_theta", big, "y ~ x + (1 + x | g)", "g")

# θ near zero: a random intercept of SD 0.1 against a residual SD of 1 (40 groups of 6; seed
# chosen among 18-30 for an estimate that is small but not zero).
set.seed(20)
g <- rep(1:40, each = 6); x <- rnorm(240)
small <- data.frame(g = paste0("g", g), x = x,
                    y = 0.5 + x + rnorm(40, sd = 0.1)[g] + rnorm(240))
case("near_zero_theta", small, "y ~ x + (1 | g)", "g")

# A calendar year 1990-2020 with a random slope: uncentred, lme4's default stops far short. The
# reference starts from the optimum of the centred model mapped to the uncentred parametrisation.
set.seed(19)
g <- rep(1:40, each = 31); year <- rep(1990:2020, 40)
u0 <- rnorm(40, sd = 2); u1 <- rnorm(40, sd = 0.1)
yr <- data.frame(g = paste0("g", g), year = year,
                 y = 10 + 0.2 * (year - 2005) + u0[g] + u1[g] * (year - 2005) + rnorm(1240, sd = 2))
yr$yc <- yr$year - 2005
yf <- yr; yf$g <- factor(yf$g)
centred <- lmer(y ~ yc + (1 + yc | g), yf, REML = TRUE, control = tight)
L <- getME(centred, "Lambda")[1:2, 1:2]
Tm <- matrix(c(1, 0, -2005, 1), 2)           # (b0_raw, b1) = T (b0_c, b1)
Lr <- t(chol(Tm %*% L %*% t(L) %*% t(Tm)))
# lmerTest's df on the uncentred fit are a numerical artefact (1190 for the slope, whose df is
# invariant under centring: the same model, the same Var(slope) as a function of the variance
# parameters, and Satterthwaite's df do not depend on how those are parametrised). The reference
# df are lmerTest's on the centred model, for the coefficients of the uncentred one as contrasts:
# intercept = (1, -2005)·β_centred, year = (0, 1)·β_centred.
centred_df <- function(m) c(contest1D(centred, L = c(1, -2005), ddf = "Satterthwaite")$df,
                            contest1D(centred, L = c(0, 1), ddf = "Satterthwaite")$df)
case("year_slope", yr[, c("g", "year", "y")], "y ~ year + (1 + year | g)", "g",
     start = c(Lr[1, 1], Lr[2, 1], Lr[2, 2]),
     note = sprintf(paste("centred model REMLcrit %.10f; df from the centred model (contrasts),",
                          "lmerTest's on the uncentred fit in lmertest_df_as_written"),
                    REMLcrit(centred)),
     df_from = function(m) centred_df(m))

# A random slope perfectly correlated with the intercept: the optimum is on the boundary
# (correlation 1, θ₃ = 0), which lme4 reports as singular (seed chosen among 20-40 for that).
set.seed(21)
g <- rep(1:25, each = 10); x <- rep(0:9, 25) / 3
u <- rnorm(25)
bd <- data.frame(g = paste0("g", g), x = x,
                 y = 2 + 0.5 * x + u[g] + 0.4 * u[g] * x + rnorm(250, sd = 0.7))
case("boundary_slope", bd, "y ~ x + (1 + x | g)", "g")

# Crossed subjects and items with a small item variance (θ₃ ≈ 0.04), the shape of a
# reaction-time experiment; cond is 0/1 (seed chosen among 21-40 for a small non-zero θ₃).
set.seed(28)
ns <- 30; ni <- 16
cr <- expand.grid(subj = 1:ns, item = 1:ni)
cr$cond <- (cr$item + cr$subj) %% 2
s0 <- rnorm(ns, sd = 0.3); s1 <- rnorm(ns, sd = 0.15); i0 <- rnorm(ni, sd = 0.02)
cr$rt <- 6 + 0.1 * cr$cond + s0[cr$subj] + s1[cr$subj] * cr$cond + i0[cr$item] +
  rnorm(nrow(cr), sd = 0.4)
cr$subj <- paste0("s", cr$subj); cr$item <- paste0("i", cr$item)
case("crossed_small", cr[, c("subj", "item", "cond", "rt")], "rt ~ cond + (1 + cond | subj) + (1 | item)",
     c("subj", "item"))

# Three crossed random intercepts with many levels, InstEval's shape at 1/8 scale: 900 students
# each rating 4-8 of 400 instructors near their own (courses of one programme), an instructor's
# department d %% 7, and a 0/1 covariate. Its dense block (order 410) is factorized as a sparse one.
set.seed(18)
ns <- 900; nd <- 400
counts <- 4 + (0:(ns - 1)) %% 5
s <- rep(0:(ns - 1), counts)
d <- (s * nd %/% ns + sample(0:24, length(s), replace = TRUE)) %% nd
service <- rbinom(length(s), 1, 0.4)
y <- 3 + 0.2 * service + rnorm(ns, sd = 0.3)[s + 1] + rnorm(nd, sd = 0.5)[d + 1] +
  rnorm(7, sd = 0.2)[d %% 7 + 1] + rnorm(length(s))
ie <- data.frame(s = paste0("s", s), d = paste0("d", d), dept = paste0("p", d %% 7),
                 service = service, y = y)
case("crossed_sparse", ie, "y ~ service + (1 | s) + (1 | d) + (1 | dept)", c("s", "d", "dept"))

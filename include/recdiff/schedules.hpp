#ifndef RECDIFF_SCHEDULES_HPP
#define RECDIFF_SCHEDULES_HPP

/// \file schedules.hpp
/// Module header: every noise schedule (a value type with `Eigen::ArrayXd betas(Index steps) const`, see
/// docs/concepts.md#schedule), the beta helpers, and the string factory makeSchedule().

#include "concepts.hpp"
#include "schedules/alpha_bar_schedule.hpp"
#include "schedules/beta_helpers.hpp"
#include "schedules/binomial_schedule.hpp"
#include "schedules/cosine_schedule.hpp"
#include "schedules/explicit_schedule.hpp"
#include "schedules/exponential_schedule.hpp"
#include "schedules/fixed_first_beta.hpp"
#include "schedules/linear_schedule.hpp"
#include "schedules/linear_variance_schedule.hpp"
#include "schedules/make_schedule.hpp"
#include "schedules/piecewise_linear_schedule.hpp"
#include "schedules/sqrt_schedule.hpp"
#include "schedules/truncated_cosine_schedule.hpp"
#include "schedules/truncated_linear_schedule.hpp"

#endif  // RECDIFF_SCHEDULES_HPP

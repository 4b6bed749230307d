//! Enforce: enforcement actions.

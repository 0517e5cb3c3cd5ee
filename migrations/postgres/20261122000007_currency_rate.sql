-- Tenge per unit of another currency from a day on (SPEC §7): spend of an ad account in
-- USD on a day converts at the latest rate dated on or before that day.
-- The twin of this file for the other engine has the same version number.
CREATE TABLE currency_rate (
    currency       TEXT NOT NULL,
    -- Almaty `yyyymmdd` the rate applies from.
    day            BIGINT NOT NULL,
    -- Tenge per unit, in millionths (505.2 ₸ per USD = 505200000).
    kzt_micro      BIGINT NOT NULL CHECK (kzt_micro > 0),
    PRIMARY KEY (currency, day)
);

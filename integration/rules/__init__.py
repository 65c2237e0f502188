"""Pure rules over frozen dataclasses: no IO, no clock (`now` is a parameter), standard library only.

THE rounding rule (one for the whole engine): points are computed in exact `Decimal` and floored
once per order — `floor(eligible × points_per_unit × tier × membership × campaigns)`. Reversals are
cumulative: after refunds totalling R of an order's eligible amount E that earned P points, the
order has given back `floor(P × min(R, E) / E)` in all (and exactly P once R ≥ E, or on
cancellation), so any sequence of partial refunds summing to the order takes back exactly P.
"""

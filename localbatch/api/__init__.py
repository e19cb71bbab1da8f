"""The REST layer: routes, the request pipeline and one module of handlers per resource."""

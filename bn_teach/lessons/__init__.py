"""One module per lesson notebook: its experiments, figures and live explorers.

    notebooks/01_normalizing_inputs.ipynb            -> bn_teach.lessons.l01_normalizing_inputs
    notebooks/02_inside_batchnorm.ipynb              -> bn_teach.lessons.l02_inside_batchnorm
    notebooks/03_training_speed.ipynb                -> bn_teach.lessons.l03_training_speed
    notebooks/04_black_cats_covariate_shift.ipynb    -> bn_teach.lessons.l04_black_cats
    notebooks/05_regularization_batch_size.ipynb     -> bn_teach.lessons.l05_regularization
    notebooks/06_why_batchnorm_works.ipynb           -> bn_teach.lessons.l06_why_batchnorm_works
    notebooks/07_batchnorm_in_practice.ipynb         -> bn_teach.lessons.l07_batchnorm_in_practice

A lesson module imports the core (`bn_teach.layers`, `conv`, `network`, `training`, `runs`, `cats`, `digits`,
`samples`, `plots`, `widgets`, `parallel`), never another lesson module; a test checks it. A new lesson NN gets a module
`lNN_<topic>.py` here; what two lessons would share belongs in the core.
"""

import pytorch_lightning as pl
from transformers import AutoModelForQuestionAnswering

from .optim import build_optimizer, build_scheduler_config


class ExtractiveQA(pl.LightningModule):
    def __init__(self, model_name="deepset/roberta-base-squad2", lr=3e-5, weight_decay=0.01, warmup_ratio=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.model = AutoModelForQuestionAnswering.from_pretrained(model_name)

    def forward(self, **batch):
        return self.model(**batch)

    def training_step(self, batch, batch_idx):
        loss = self(**batch).loss
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        out = self(**batch)
        start_ok = (out.start_logits.argmax(-1) == batch["start_positions"]).float()
        end_ok = (out.end_logits.argmax(-1) == batch["end_positions"]).float()
        self.log("val/loss", out.loss, prog_bar=True)
        self.log("val/exact_span", (start_ok * end_ok).mean(), prog_bar=True)

    def configure_optimizers(self):
        optimizer = build_optimizer(self.model, self.hparams.lr, self.hparams.weight_decay)
        sched_cfg = build_scheduler_config(optimizer, self.trainer.estimated_stepping_batches,
                                           self.hparams.warmup_ratio)
        return [optimizer], [sched_cfg]
